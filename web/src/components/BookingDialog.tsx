import { useState } from "preact/hooks";
import { ApiError, api, type Conflict, type Reservation, type Room } from "../api";
import { formatRange, fromLocalInput, localDate, toLocalInput, type Interval } from "../timegrid";
import { Dialog } from "./Dialog";
import { Field } from "./Field";

export interface Booked {
  room: Room;
  interval: Interval;
  count: number;
}

interface Props {
  room: Room;
  interval: Interval;
  zone: string;
  onClose: () => void;
  onBooked: (booked: Booked) => void;
}

type Repeat = "none" | "daily" | "weekly";

/** The conflicting slots of a 409 as sentences, in the viewer's zone (the room's beside it). */
export function conflictLines(error: ApiError, zone: string, roomZone: string): string[] {
  const lines: string[] = [];
  const line = (conflict: Conflict, prefix = ""): string => {
    const interval = { start: new Date(conflict.start_time), end: new Date(conflict.end_time) };
    const day = localDate(interval.start, zone);
    const yours = conflict.id === undefined ? "" : ` (your reservation #${conflict.id})`;
    return `${prefix}${day} ${formatRange(interval, zone, roomZone)} is already booked${yours}.`;
  };
  for (const conflict of error.problem.conflicts ?? []) {
    if (conflict.conflicts) {
      const when = { start: new Date(conflict.start_time), end: new Date(conflict.end_time) };
      const prefix = `The meeting on ${localDate(when.start, zone)} ${formatRange(when, zone, roomZone)}: `;
      for (const inner of conflict.conflicts) lines.push(line(inner, prefix));
    } else {
      lines.push(line(conflict));
    }
  }
  return lines;
}

export function BookingDialog({ room, interval, zone, onClose, onBooked }: Props) {
  const [start, setStart] = useState(toLocalInput(interval.start, zone));
  const [end, setEnd] = useState(toLocalInput(interval.end, zone));
  const [purpose, setPurpose] = useState("");
  const [attendees, setAttendees] = useState("1");
  const [repeat, setRepeat] = useState<Repeat>("none");
  const [count, setCount] = useState("4");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | Error | null>(null);

  const fields = error instanceof ApiError ? error.fieldErrors() : {};
  const conflicts =
    error instanceof ApiError && error.problem.status === 409 ? conflictLines(error, zone, room.timezone) : [];

  async function submit(event: Event): Promise<void> {
    event.preventDefault();
    const startAt = fromLocalInput(start, zone);
    const endAt = fromLocalInput(end, zone);
    if (!startAt || !endAt) {
      setError(new Error("Please enter a start and an end."));
      return;
    }
    const body: Record<string, unknown> = {
      room_id: room.id,
      start_time: startAt.toISOString(),
      end_time: endAt.toISOString(),
      attendees: Number(attendees),
    };
    if (purpose.trim()) body.purpose = purpose.trim();
    setBusy(true);
    setError(null);
    try {
      if (repeat === "none") {
        await api.post<Reservation>("/reservations", body);
        onBooked({ room, interval: { start: startAt, end: endAt }, count: 1 });
      } else {
        const rrule = `FREQ=${repeat.toUpperCase()};COUNT=${Number(count)}`;
        const series = await api.post<{ reservations: Reservation[] }>("/reservation-series", { ...body, rrule });
        onBooked({ room, interval: { start: startAt, end: endAt }, count: series.reservations.length });
      }
    } catch (caught) {
      setError(caught instanceof Error ? caught : new Error(String(caught)));
    } finally {
      setBusy(false);
    }
  }

  const when = { start: fromLocalInput(start, zone) ?? interval.start, end: fromLocalInput(end, zone) ?? interval.end };
  return (
    <Dialog title={`Book ${room.name}`} onClose={onClose}>
      <form onSubmit={(event) => void submit(event)} noValidate>
        <p class="when">
          {localDate(when.start, zone)}, {formatRange(when, zone, room.timezone)}
        </p>
        <div class="row">
          <Field label="Start" error={fields.start_time}>
            <input
              type="datetime-local"
              step={900}
              required
              value={start}
              onInput={(e) => setStart(e.currentTarget.value)}
            />
          </Field>
          <Field label="End" error={fields.end_time}>
            <input
              type="datetime-local"
              step={900}
              required
              value={end}
              onInput={(e) => setEnd(e.currentTarget.value)}
            />
          </Field>
        </div>
        <Field label="Purpose" error={fields.purpose}>
          <input type="text" maxLength={500} value={purpose} onInput={(e) => setPurpose(e.currentTarget.value)} />
        </Field>
        <Field label={`Attendees (up to ${room.capacity})`} error={fields.attendees}>
          <input
            type="number"
            min={1}
            max={room.capacity}
            required
            value={attendees}
            onInput={(e) => setAttendees(e.currentTarget.value)}
          />
        </Field>
        <div class="row">
          <Field label="Repeat" error={fields.rrule}>
            <select value={repeat} onChange={(e) => setRepeat(e.currentTarget.value as Repeat)}>
              <option value="none">Does not repeat</option>
              <option value="daily">Every day</option>
              <option value="weekly">Every week</option>
            </select>
          </Field>
          {repeat !== "none" && (
            <Field label="Number of meetings">
              <input type="number" min={2} max={365} value={count} onInput={(e) => setCount(e.currentTarget.value)} />
            </Field>
          )}
        </div>
        {error && (
          <div class="error" role="alert">
            <p>{conflicts.length ? "This time is taken." : error.message}</p>
            {conflicts.length > 0 && (
              <ul class="conflicts">
                {conflicts.map((text) => (
                  <li key={text}>{text}</li>
                ))}
              </ul>
            )}
          </div>
        )}
        <div class="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy}>
            {busy ? "Booking…" : "Book"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
