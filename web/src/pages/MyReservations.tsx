import { useEffect, useMemo, useState } from "preact/hooks";
import { ApiError, all, api, type Reservation, type Room } from "../api";
import { conflictLines } from "../components/BookingDialog";
import { Dialog } from "../components/Dialog";
import { Field } from "../components/Field";
import { Empty, ErrorMessage, Loading } from "../components/Status";
import { formatRange, fromLocalInput, localDate, toLocalInput, viewerZone } from "../timegrid";

const interval = (r: Reservation) => ({ start: new Date(r.start_time), end: new Date(r.end_time) });

export function MyReservations() {
  const zone = useMemo(viewerZone, []);
  const [tab, setTab] = useState<"upcoming" | "past">("upcoming");
  const [items, setItems] = useState<Reservation[] | null>(null);
  const [rooms, setRooms] = useState<Map<number, Room>>(new Map());
  const [error, setError] = useState<unknown>(null);
  const [reload, setReload] = useState(0);
  const [changing, setChanging] = useState<Reservation | null>(null);
  const [cancelling, setCancelling] = useState<Reservation | null>(null);
  const [notice, setNotice] = useState("");

  // A new tab starts from "loading"; a reload after a change keeps the list in place until it arrives.
  useEffect(() => setItems(null), [tab]);

  useEffect(() => {
    let current = true;
    setError(null);
    const now = new Date().toISOString();
    Promise.all([
      all<Reservation>("/reservations", tab === "upcoming" ? { from: now, status: "confirmed" } : { to: now }),
      all<Room>("/rooms"),
    ]).then(
      ([reservations, roomList]) => {
        if (!current) return;
        const sorted = reservations.sort((a, b) => a.start_time.localeCompare(b.start_time));
        setItems(tab === "past" ? sorted.reverse() : sorted);
        setRooms(new Map(roomList.map((room) => [room.id, room])));
      },
      (caught: unknown) => current && setError(caught),
    );
    return () => {
      current = false;
    };
  }, [tab, reload]);

  const roomName = (id: number) => rooms.get(id)?.name ?? `Room ${id}`;

  async function checkIn(reservation: Reservation): Promise<void> {
    try {
      await api.post(`/reservations/${reservation.id}/check-in`, {});
      setNotice(`Checked in to ${roomName(reservation.room_id)}.`);
      setReload((n) => n + 1);
    } catch (caught) {
      setError(caught);
    }
  }

  return (
    <section aria-labelledby="my-title">
      <h1 id="my-title">My reservations</h1>
      <div class="tabs" role="tablist" aria-label="Which reservations">
        {(["upcoming", "past"] as const).map((name) => (
          <button key={name} type="button" role="tab" aria-selected={tab === name} onClick={() => setTab(name)}>
            {name === "upcoming" ? "Upcoming" : "Past"}
          </button>
        ))}
      </div>
      <p role="status" class="notice">
        {notice}
      </p>
      <CalendarFeed />
      <ErrorMessage error={error} />
      {!items && !error && <Loading what="Loading your reservations" />}
      {items?.length === 0 && (
        <Empty>{tab === "upcoming" ? "You have no upcoming reservations." : "No past reservations yet."}</Empty>
      )}
      {items && items.length > 0 && (
        <ul class="reservations">
          {items.map((r) => {
            const room = rooms.get(r.room_id);
            const when = interval(r);
            const upcoming = tab === "upcoming" && r.status === "confirmed";
            return (
              <li key={r.id} class={`reservation ${r.status}`}>
                <div>
                  <strong>{roomName(r.room_id)}</strong>
                  <span>
                    {localDate(when.start, zone)} · {formatRange(when, zone, room?.timezone)}
                  </span>
                  <span>
                    {r.purpose || "No purpose given"} · {r.attendees} {r.attendees === 1 ? "person" : "people"}
                    {r.status !== "confirmed" ? ` · ${r.status}` : ""}
                    {r.checked_in_at ? " · checked in" : ""}
                  </span>
                </div>
                {upcoming && (
                  <div class="actions">
                    {room?.requires_check_in && !r.checked_in_at && (
                      <button type="button" onClick={() => void checkIn(r)}>
                        Check in
                      </button>
                    )}
                    <button type="button" onClick={() => setChanging(r)}>
                      Change
                    </button>
                    <button type="button" class="danger" onClick={() => setCancelling(r)}>
                      Cancel
                    </button>
                  </div>
                )}
              </li>
            );
          })}
        </ul>
      )}
      {changing && (
        <ChangeDialog
          reservation={changing}
          rooms={[...rooms.values()]}
          zone={zone}
          onClose={() => setChanging(null)}
          onDone={(text) => {
            setChanging(null);
            setNotice(text);
            setReload((n) => n + 1);
          }}
        />
      )}
      {cancelling && (
        <CancelDialog
          reservation={cancelling}
          name={roomName(cancelling.room_id)}
          zone={zone}
          onClose={() => setCancelling(null)}
          onDone={(text) => {
            setCancelling(null);
            setNotice(text);
            setReload((n) => n + 1);
          }}
        />
      )}
    </section>
  );
}

interface ChangeProps {
  reservation: Reservation;
  rooms: Room[];
  zone: string;
  onClose: () => void;
  onDone: (text: string) => void;
}

function ChangeDialog({ reservation, rooms, zone, onClose, onDone }: ChangeProps) {
  const [roomId, setRoomId] = useState(String(reservation.room_id));
  const [start, setStart] = useState(toLocalInput(new Date(reservation.start_time), zone));
  const [end, setEnd] = useState(toLocalInput(new Date(reservation.end_time), zone));
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const room = rooms.find((r) => r.id === Number(roomId));
  const fields = error instanceof ApiError ? error.fieldErrors() : {};
  const conflicts =
    error instanceof ApiError && error.problem.status === 409 ? conflictLines(error, zone, room?.timezone ?? zone) : [];

  async function submit(event: Event): Promise<void> {
    event.preventDefault();
    const startAt = fromLocalInput(start, zone);
    const endAt = fromLocalInput(end, zone);
    if (!startAt || !endAt) {
      setError(new Error("Please enter a start and an end."));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api.patch(`/reservations/${reservation.id}`, {
        room_id: Number(roomId),
        start_time: startAt.toISOString(),
        end_time: endAt.toISOString(),
      });
      onDone(
        `Changed: ${room?.name ?? "room"}, ${localDate(startAt, zone)} ${formatRange({ start: startAt, end: endAt }, zone)}.`,
      );
    } catch (caught) {
      setError(caught instanceof Error ? caught : new Error(String(caught)));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog title="Change reservation" onClose={onClose}>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <Field label="Room" error={fields.room_id}>
          <select value={roomId} onChange={(e) => setRoomId(e.currentTarget.value)}>
            {rooms.map((r) => (
              <option key={r.id} value={r.id}>
                {r.name} ({r.capacity} seats)
              </option>
            ))}
          </select>
        </Field>
        <div class="row">
          <Field label="Start" error={fields.start_time}>
            <input type="datetime-local" step={900} value={start} onInput={(e) => setStart(e.currentTarget.value)} />
          </Field>
          <Field label="End" error={fields.end_time}>
            <input type="datetime-local" step={900} value={end} onInput={(e) => setEnd(e.currentTarget.value)} />
          </Field>
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
            Keep as it was
          </button>
          <button type="submit" class="primary" disabled={busy}>
            {busy ? "Saving…" : "Save changes"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

interface CancelProps {
  reservation: Reservation;
  name: string;
  zone: string;
  onClose: () => void;
  onDone: (text: string) => void;
}

function CancelDialog({ reservation, name, zone, onClose, onDone }: CancelProps) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const when = interval(reservation);
  const text = `${name}, ${localDate(when.start, zone)} ${formatRange(when, zone)}`;

  async function confirm(): Promise<void> {
    setBusy(true);
    try {
      await api.delete(`/reservations/${reservation.id}`);
      onDone(`Cancelled: ${text}.`);
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  return (
    <Dialog title="Cancel this reservation?" onClose={onClose}>
      <p>{text}</p>
      <ErrorMessage error={error} />
      <div class="actions">
        <button type="button" onClick={onClose}>
          Keep it
        </button>
        <button type="button" class="danger" disabled={busy} onClick={() => void confirm()}>
          {busy ? "Cancelling…" : "Yes, cancel it"}
        </button>
      </div>
    </Dialog>
  );
}

/** "Subscribe in your calendar": the caller's secret feed URL, where the server offers feeds. */
function CalendarFeed() {
  const [feed, setFeed] = useState<string | null>(null);
  useEffect(() => {
    api.get<{ url: string }>("/calendar/feed").then(
      (body) => setFeed(body.url),
      () => setFeed(null),
    );
  }, []);
  if (!feed) return null;
  return (
    <details class="feed">
      <summary>Subscribe in your calendar</summary>
      <Field label="Your calendar feed (keep it private: anyone with it sees your bookings)">
        <input type="text" readOnly value={feed} onFocus={(e) => e.currentTarget.select()} />
      </Field>
    </details>
  );
}
