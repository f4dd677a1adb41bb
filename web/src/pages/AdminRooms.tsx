import { useEffect, useState } from "preact/hooks";
import { ApiError, all, api, type OpeningHours, type Room } from "../api";
import { Dialog } from "../components/Dialog";
import { Field } from "../components/Field";
import { Empty, ErrorMessage, Loading } from "../components/Status";

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
const DAY_NAMES = {
  mon: "Monday",
  tue: "Tuesday",
  wed: "Wednesday",
  thu: "Thursday",
  fri: "Friday",
  sat: "Saturday",
  sun: "Sunday",
};

type Form = Record<
  | "name"
  | "capacity"
  | "equipment"
  | "building"
  | "floor"
  | "description"
  | "timezone"
  | "max_days_ahead"
  | "max_duration_minutes"
  | "buffer_minutes"
  | "check_in_minutes",
  string
> & {
  is_active: boolean;
  requires_check_in: boolean;
  always_open: boolean;
  hours: Record<(typeof DAYS)[number], string>;
};

/** "08:00-12:00, 13:00-18:00" ⇄ [{start, end}, ...] */
export function hoursText(intervals: { start: string; end: string }[] | undefined): string {
  return (intervals ?? []).map((i) => `${i.start}-${i.end}`).join(", ");
}

export function parseHours(text: string): { start: string; end: string }[] {
  return text
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const [start = "", end = ""] = part.split(/\s*[-–]\s*/);
      return { start, end };
    });
}

function toForm(room: Room | null): Form {
  const hours = Object.fromEntries(DAYS.map((d) => [d, hoursText(room?.opening_hours?.[d])])) as Form["hours"];
  return {
    name: room?.name ?? "",
    capacity: String(room?.capacity ?? 4),
    equipment: room?.equipment.join(", ") ?? "",
    building: room?.building ?? "",
    floor: room?.floor ?? "",
    description: room?.description ?? "",
    timezone: room?.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone,
    max_days_ahead: room ? String(room.max_days_ahead ?? "") : "",
    max_duration_minutes: String(room?.max_duration_minutes ?? ""),
    buffer_minutes: String(room?.buffer_minutes ?? 0),
    check_in_minutes: String(room?.check_in_minutes ?? 15),
    is_active: room?.is_active ?? true,
    requires_check_in: room?.requires_check_in ?? false,
    always_open: !room?.opening_hours,
    hours,
  };
}

const numberOrNull = (text: string): number | null => (text.trim() === "" ? null : Number(text));

function toBody(form: Form, creating: boolean): Record<string, unknown> {
  const opening: OpeningHours | null = form.always_open
    ? null
    : Object.fromEntries(DAYS.map((d) => [d, parseHours(form.hours[d])]));
  const body: Record<string, unknown> = {
    name: form.name.trim(),
    capacity: Number(form.capacity),
    equipment: form.equipment,
    building: form.building.trim() || null,
    floor: form.floor.trim() || null,
    description: form.description.trim() || null,
    timezone: form.timezone.trim(),
    is_active: form.is_active,
    max_duration_minutes: numberOrNull(form.max_duration_minutes),
    buffer_minutes: Number(form.buffer_minutes || 0),
    opening_hours: opening,
    requires_check_in: form.requires_check_in,
    check_in_minutes: Number(form.check_in_minutes || 15),
  };
  // A new room left blank takes the server's default horizon; an existing one blank means no limit.
  if (!(creating && form.max_days_ahead.trim() === "")) body.max_days_ahead = numberOrNull(form.max_days_ahead);
  return body;
}

export function AdminRooms() {
  const [rooms, setRooms] = useState<Room[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [reload, setReload] = useState(0);
  const [editing, setEditing] = useState<Room | "new" | null>(null);
  const [deleting, setDeleting] = useState<Room | null>(null);
  const [notice, setNotice] = useState("");

  useEffect(() => {
    let current = true;
    setError(null);
    Promise.all([all<Room>("/rooms", { is_active: true }), all<Room>("/rooms", { is_active: false })]).then(
      ([active, inactive]) =>
        current && setRooms([...active, ...inactive].sort((a, b) => a.name.localeCompare(b.name))),
      (caught: unknown) => current && setError(caught),
    );
    return () => {
      current = false;
    };
  }, [reload]);

  const done = (text: string) => {
    setEditing(null);
    setDeleting(null);
    setNotice(text);
    setReload((n) => n + 1);
  };

  return (
    <section aria-labelledby="rooms-title">
      <div class="heading-row">
        <h1 id="rooms-title">Rooms</h1>
        <button type="button" class="primary" onClick={() => setEditing("new")}>
          New room
        </button>
      </div>
      <p role="status" class="notice">
        {notice}
      </p>
      <ErrorMessage error={error} />
      {!rooms && !error && <Loading what="Loading rooms" />}
      {rooms?.length === 0 && <Empty>There are no rooms yet.</Empty>}
      {rooms && rooms.length > 0 && (
        <div class="table-scroll">
          <table class="list">
            <caption class="visually-hidden">All rooms</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Seats</th>
                <th scope="col">Building</th>
                <th scope="col">Time zone</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rooms.map((room) => (
                <tr key={room.id}>
                  <th scope="row">{room.name}</th>
                  <td>{room.capacity}</td>
                  <td>{[room.building, room.floor && `floor ${room.floor}`].filter(Boolean).join(", ") || "—"}</td>
                  <td>{room.timezone}</td>
                  <td>{room.is_active ? "Active" : "Inactive"}</td>
                  <td class="actions">
                    <button type="button" onClick={() => setEditing(room)} aria-label={`Edit ${room.name}`}>
                      Edit
                    </button>
                    <button
                      type="button"
                      class="danger"
                      onClick={() => setDeleting(room)}
                      aria-label={`Delete ${room.name}`}
                    >
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {editing && (
        <RoomDialog room={editing === "new" ? null : editing} onClose={() => setEditing(null)} onDone={done} />
      )}
      {deleting && <DeleteDialog room={deleting} onClose={() => setDeleting(null)} onDone={done} />}
    </section>
  );
}

function RoomDialog({
  room,
  onClose,
  onDone,
}: {
  room: Room | null;
  onClose: () => void;
  onDone: (text: string) => void;
}) {
  const [form, setForm] = useState<Form>(() => toForm(room));
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const fields = error instanceof ApiError ? error.fieldErrors() : {};
  const set = (key: keyof Form) => (event: Event) => {
    const target = event.currentTarget as HTMLInputElement;
    setForm({ ...form, [key]: target.type === "checkbox" ? target.checked : target.value });
  };

  async function submit(event: Event): Promise<void> {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = toBody(form, room === null);
      if (room) await api.patch(`/rooms/${room.id}`, body);
      else await api.post("/rooms", body);
      onDone(room ? `Saved ${form.name}.` : `Created ${form.name}.`);
    } catch (caught) {
      setError(caught instanceof Error ? caught : new Error(String(caught)));
    } finally {
      setBusy(false);
    }
  }

  const text = (key: keyof Form, label: string, numeric = false) => (
    <Field label={label} error={fields[key]}>
      {numeric ? (
        <input type="number" value={form[key] as string} onInput={set(key)} />
      ) : (
        <input type="text" value={form[key] as string} onInput={set(key)} />
      )}
    </Field>
  );

  return (
    <Dialog title={room ? `Edit ${room.name}` : "New room"} onClose={onClose}>
      <form onSubmit={(e) => void submit(e)} noValidate>
        {text("name", "Name")}
        <div class="row">
          {text("capacity", "Seats", true)}
          {text("timezone", "Time zone (IANA, e.g. Europe/Berlin)")}
        </div>
        {text("equipment", "Equipment (comma-separated)")}
        <div class="row">
          {text("building", "Building")}
          {text("floor", "Floor")}
        </div>
        {text("description", "Description")}
        <fieldset>
          <legend>Booking rules</legend>
          <div class="row">
            {text("max_days_ahead", "Bookable days ahead (blank: default or no limit)", true)}
            {text("max_duration_minutes", "Longest booking in minutes (blank: global limit)", true)}
            {text("buffer_minutes", "Buffer after each booking (minutes)", true)}
          </div>
          <label class="check">
            <input type="checkbox" checked={form.requires_check_in} onChange={set("requires_check_in")} /> Requires
            check-in
          </label>
          {text("check_in_minutes", "Check-in window after the start (minutes)", true)}
        </fieldset>
        <fieldset aria-describedby={fields.opening_hours ? "hours-error" : undefined}>
          <legend>Opening hours (in the room's time zone)</legend>
          <label class="check">
            <input type="checkbox" checked={form.always_open} onChange={set("always_open")} /> Always open
          </label>
          {!form.always_open && (
            <div class="hours">
              {DAYS.map((day) => (
                <Field key={day} label={`${DAY_NAMES[day]} (e.g. 08:00-18:00; blank: closed)`}>
                  <input
                    type="text"
                    value={form.hours[day]}
                    onInput={(e) => setForm({ ...form, hours: { ...form.hours, [day]: e.currentTarget.value } })}
                  />
                </Field>
              ))}
            </div>
          )}
          {fields.opening_hours && (
            <span class="field-error" id="hours-error">
              {fields.opening_hours}
            </span>
          )}
        </fieldset>
        <label class="check">
          <input type="checkbox" checked={form.is_active} onChange={set("is_active")} /> Active (bookable)
        </label>
        <ErrorMessage error={error} />
        <div class="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy}>
            {busy ? "Saving…" : room ? "Save" : "Create room"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function DeleteDialog({ room, onClose, onDone }: { room: Room; onClose: () => void; onDone: (text: string) => void }) {
  const [error, setError] = useState<unknown>(null);
  return (
    <Dialog title={`Delete ${room.name}?`} onClose={onClose}>
      <p>Its reservations that have not ended are cancelled. Deactivate it instead to keep them.</p>
      <ErrorMessage error={error} />
      <div class="actions">
        <button type="button" onClick={onClose}>
          Keep it
        </button>
        <button
          type="button"
          class="danger"
          onClick={() => {
            api.delete(`/rooms/${room.id}`).then(() => onDone(`Deleted ${room.name}.`), setError);
          }}
        >
          Delete room
        </button>
      </div>
    </Dialog>
  );
}
