import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { all, api, type Availability, type Page, type Reservation, type Room } from "../api";
import type { User } from "../auth";
import { BookingDialog, type Booked } from "../components/BookingDialog";
import { Field } from "../components/Field";
import { Empty, ErrorMessage, Loading } from "../components/Status";
import { navigate, useLocation } from "../router";
import {
  addDays,
  cellState,
  cells,
  dayInterval,
  datesCovering,
  formatOffset,
  formatRange,
  formatTime,
  fromLocalInput,
  localDate,
  merge,
  offsetMinutes,
  overlaps,
  selection,
  shortZone,
  viewerZone,
  wallClock,
  type CellState,
  type Interval,
} from "../timegrid";

interface Row {
  room: Room;
  states: CellState[];
  mine: boolean[];
  unavailable: boolean;
}

interface Filters {
  capacity: string;
  equipment: string;
  building: string;
}

const toInterval = (slot: { start_time: string; end_time: string }): Interval => ({
  start: new Date(slot.start_time),
  end: new Date(slot.end_time),
});

async function loadRows(date: string, zone: string, filters: Filters): Promise<Row[]> {
  const day = dayInterval(date, zone);
  const grid = cells(date, zone);
  const rooms = await all<Room>("/rooms", {
    min_capacity: filters.capacity,
    equipment: filters.equipment.replace(/\s+/g, ""),
    building: filters.building,
  });
  const mine = await all<Reservation>("/reservations", {
    from: day.start.toISOString(),
    to: day.end.toISOString(),
    status: "confirmed",
  });
  return Promise.all(
    rooms.map(async (room) => {
      let days: Availability[];
      try {
        days = await Promise.all(
          datesCovering(day, room.timezone).map((d) =>
            api.get<Availability>("/availability", { room_id: room.id, date: d }),
          ),
        );
      } catch {
        // A room created a moment ago may not have reached the booking service yet: shown, not bookable.
        return { room, states: grid.map((): CellState => "closed"), mine: grid.map(() => false), unavailable: true };
      }
      const booked = merge(days.flatMap((a) => a.booked.map(toInterval)));
      const free = merge(days.flatMap((a) => a.free.map(toInterval)));
      const own = mine.filter((r) => r.room_id === room.id).map(toInterval);
      return {
        room,
        states: grid.map((cell) => cellState(cell, booked, free)),
        mine: grid.map((cell) => own.some((r) => overlaps(r, cell))),
        unavailable: false,
      };
    }),
  );
}

interface Pick {
  row: number;
  anchor: number;
  focus: number;
}

export function DayView({ user }: { user: User }) {
  const url = useLocation();
  const zone = useMemo(viewerZone, []);
  const today = localDate(new Date(), zone);
  const date = /^\d{4}-\d{2}-\d{2}$/.test(url.searchParams.get("date") ?? "")
    ? (url.searchParams.get("date") ?? today)
    : today;
  const [filters, setFilters] = useState<Filters>({ capacity: "", equipment: "", building: "" });
  const [rows, setRows] = useState<Row[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [reload, setReload] = useState(0);
  const [pick, setPick] = useState<Pick | null>(null);
  const [cursor, setCursor] = useState({ row: 0, col: -1 });
  const [booking, setBooking] = useState<{ room: Room; interval: Interval } | null>(null);
  const [notice, setNotice] = useState("");
  const dragging = useRef(false);
  const grid = useMemo(() => cells(date, zone), [date, zone]);

  // Another day or other filters start from "loading"; a reload after a booking keeps the grid (and the
  // keyboard focus in it) in place until the new one arrives.
  useEffect(() => setRows(null), [date, zone, filters]);

  useEffect(() => {
    let current = true;
    setError(null);
    loadRows(date, zone, filters).then(
      (loaded) => current && setRows(loaded),
      (caught: unknown) => current && setError(caught),
    );
    return () => {
      current = false;
    };
  }, [date, zone, filters, reload]);

  const firstOpen = grid.findIndex((cell) => wallClock(cell.start, zone).hour >= 8);
  const col = cursor.col < 0 ? Math.max(firstOpen, 0) : cursor.col;

  function setDate(next: string): void {
    setPick(null);
    navigate(`/app/day?date=${next}`);
  }

  function open(p: Pick | null): void {
    const row = p && rows?.[p.row];
    if (!p || !row) return;
    const interval = selection(grid, row.states, p.anchor, p.focus);
    if (interval) setBooking({ room: row.room, interval });
  }

  function focusCell(row: number, column: number): void {
    setCursor({ row, col: column });
    document.getElementById(`cell-${row}-${column}`)?.focus();
  }

  function onKeyDown(event: KeyboardEvent, row: number, column: number): void {
    const moves: Record<string, [number, number]> = {
      ArrowLeft: [0, -1],
      ArrowRight: [0, 1],
      ArrowUp: [-1, 0],
      ArrowDown: [1, 0],
      Home: [0, -column],
      End: [0, grid.length - 1 - column],
    };
    const move = moves[event.key];
    if (move && rows) {
      event.preventDefault();
      const nextRow = Math.min(Math.max(row + move[0], 0), rows.length - 1);
      const nextCol = Math.min(Math.max(column + move[1], 0), grid.length - 1);
      if (event.shiftKey && move[0] === 0 && pick?.row === row) setPick({ ...pick, focus: nextCol });
      else if (event.shiftKey && move[0] === 0) setPick({ row, anchor: column, focus: nextCol });
      else setPick(null);
      focusCell(nextRow, nextCol);
    } else if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      open(pick?.row === row ? pick : { row, anchor: column, focus: column });
    } else if (event.key === "Escape") {
      setPick(null);
    }
  }

  const buildings = useMemo(
    () => [...new Set((rows ?? []).map((r) => r.room.building).filter(Boolean))].sort(),
    [rows],
  );
  const hourHeads = headers(grid, zone);

  return (
    <section aria-labelledby="day-title">
      <h1 id="day-title">Day view</h1>
      <div class="toolbar">
        <div class="date-nav" role="group" aria-label="Day">
          <button type="button" onClick={() => setDate(addDays(date, -1))} aria-label="Previous day">
            ‹
          </button>
          <Field label="Date">
            <input type="date" value={date} onChange={(e) => e.currentTarget.value && setDate(e.currentTarget.value)} />
          </Field>
          <button type="button" onClick={() => setDate(addDays(date, 1))} aria-label="Next day">
            ›
          </button>
          <button type="button" onClick={() => setDate(today)}>
            Today
          </button>
        </div>
        <form class="filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
          <Field label="Seats at least">
            <input
              type="number"
              min={1}
              value={filters.capacity}
              onChange={(e) => setFilters({ ...filters, capacity: e.currentTarget.value })}
            />
          </Field>
          <Field label="Equipment">
            <input
              type="text"
              placeholder="projector, whiteboard"
              value={filters.equipment}
              onChange={(e) => setFilters({ ...filters, equipment: e.currentTarget.value })}
            />
          </Field>
          <Field label="Building">
            <input
              type="text"
              list="buildings"
              value={filters.building}
              onChange={(e) => setFilters({ ...filters, building: e.currentTarget.value })}
            />
          </Field>
          <datalist id="buildings">
            {buildings.map((b) => (
              <option key={b} value={b ?? ""} />
            ))}
          </datalist>
        </form>
      </div>
      <p class="hint">
        Times are in your time zone, {shortZone(zone)} ({formatOffset(grid[0]?.start ?? new Date(), zone)}). Click or
        drag across free time to book; with the keyboard, arrow keys move, Shift+arrow selects and Enter books.
      </p>
      <ul class="legend" aria-label="Legend">
        <li>
          <span class="swatch free" /> Free
        </li>
        <li>
          <span class="swatch busy" /> Booked
        </li>
        <li>
          <span class="swatch mine" /> Yours
        </li>
        <li>
          <span class="swatch closed" /> Closed
        </li>
      </ul>
      <p role="status" class="notice">
        {notice}
      </p>
      <ErrorMessage error={error} />
      {!rows && !error && <Loading what="Loading rooms" />}
      {rows?.length === 0 && <Empty>No room matches these filters.</Empty>}
      {rows && rows.length > 0 && (
        <div class="grid-scroll">
          <table
            class="daygrid"
            role="grid"
            aria-label={`Rooms on ${date}`}
            onPointerUp={() => {
              if (dragging.current) {
                dragging.current = false;
                open(pick);
              }
            }}
          >
            <thead>
              <tr>
                <th scope="col">Room</th>
                {hourHeads.map((head) => (
                  <th key={head.index} scope="colgroup" colSpan={head.span}>
                    {head.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((row, r) => {
                const other =
                  offsetMinutes(grid[0]?.start ?? new Date(), row.room.timezone) !==
                  offsetMinutes(grid[0]?.start ?? new Date(), zone);
                const low = pick?.row === r ? Math.min(pick.anchor, pick.focus) : -1;
                const high = pick?.row === r ? Math.max(pick.anchor, pick.focus) : -2;
                return (
                  <tr key={row.room.id}>
                    <th scope="row" id={`room-${row.room.id}`}>
                      <span class="room-name">{row.room.name}</span>
                      <span class="room-meta">
                        {row.room.capacity} seats{row.room.building ? ` · ${row.room.building}` : ""}
                        {other ? ` · ${shortZone(row.room.timezone)} time` : ""}
                        {row.unavailable ? " · not bookable yet, reload in a moment" : ""}
                      </span>
                    </th>
                    {grid.map((cell, c) => {
                      const state = row.states[c] ?? "closed";
                      const selected = c >= low && c <= high;
                      const label = `${row.room.name}, ${formatRange(cell, zone, other ? row.room.timezone : undefined)}, ${
                        row.mine[c] ? "your booking" : state === "busy" ? "booked" : state
                      }`;
                      return (
                        <td
                          key={c}
                          id={`cell-${r}-${c}`}
                          role="gridcell"
                          class={`slot ${state}${row.mine[c] ? " mine" : ""}${selected ? " selected" : ""}${c % 2 === 0 ? " half" : ""}`}
                          tabIndex={cursor.row === r && col === c ? 0 : -1}
                          aria-selected={selected}
                          aria-label={label}
                          title={label}
                          data-state={state}
                          data-start={cell.start.toISOString()}
                          onKeyDown={(e) => onKeyDown(e, r, c)}
                          onFocus={() => setCursor({ row: r, col: c })}
                          onPointerDown={(e) => {
                            if (state !== "free") return;
                            e.preventDefault();
                            dragging.current = true;
                            setCursor({ row: r, col: c });
                            setPick({ row: r, anchor: c, focus: c });
                          }}
                          onPointerEnter={() => {
                            if (dragging.current && pick?.row === r) setPick({ ...pick, focus: c });
                          }}
                        />
                      );
                    })}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <FindFreeRoom key={date} zone={zone} date={date} onBook={(room, interval) => setBooking({ room, interval })} />
      {booking && (
        <BookingDialog
          room={booking.room}
          interval={booking.interval}
          zone={zone}
          onClose={() => {
            setBooking(null);
            setPick(null);
          }}
          onBooked={(booked: Booked) => {
            setBooking(null);
            setPick(null);
            setNotice(
              `Booked ${booked.room.name}, ${localDate(booked.interval.start, zone)} ${formatRange(booked.interval, zone, booked.room.timezone)}${
                booked.count > 1 ? ` (${booked.count} meetings)` : ""
              }.`,
            );
            setReload((n) => n + 1);
          }}
        />
      )}
      <p class="signed-in-as">Signed in as {user.email}</p>
    </section>
  );
}

/** The hour columns' headings: one per local hour (a DST day has 23 or 25), spanning its cells. */
function headers(grid: readonly Interval[], zone: string): { index: number; span: number; label: string }[] {
  const heads: { index: number; span: number; label: string }[] = [];
  grid.forEach((cell, index) => {
    const { hour } = wallClock(cell.start, zone);
    const last = heads[heads.length - 1];
    const lastHour = last ? wallClock(grid[last.index]?.start ?? cell.start, zone).hour : -1;
    const sameHour = last && lastHour === hour && index - last.index < 2;
    if (sameHour) last.span += 1;
    else heads.push({ index, span: 1, label: formatTime(cell.start, zone).slice(0, 2) });
  });
  return heads;
}

function FindFreeRoom({
  zone,
  date,
  onBook,
}: {
  zone: string;
  date: string;
  onBook: (room: Room, interval: Interval) => void;
}) {
  const [start, setStart] = useState(`${date}T10:00`);
  const [end, setEnd] = useState(`${date}T11:00`);
  const [capacity, setCapacity] = useState("");
  const [equipment, setEquipment] = useState("");
  const [found, setFound] = useState<Room[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function search(event: Event): Promise<void> {
    event.preventDefault();
    const from = fromLocalInput(start, zone);
    const to = fromLocalInput(end, zone);
    if (!from || !to || from >= to) {
      setError(new Error("Please give a start before the end."));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const page = await api.get<Page<Room>>("/availability/rooms", {
        start: from.toISOString(),
        end: to.toISOString(),
        min_capacity: capacity,
        equipment: equipment.replace(/\s+/g, ""),
        per_page: 50,
      });
      setFound(page.items);
    } catch (caught) {
      setError(caught);
      setFound(null);
    } finally {
      setBusy(false);
    }
  }

  const interval = { start: fromLocalInput(start, zone) ?? new Date(), end: fromLocalInput(end, zone) ?? new Date() };
  return (
    <section class="find" aria-labelledby="find-title">
      <h2 id="find-title">Find a free room</h2>
      <form onSubmit={(e) => void search(e)} class="row">
        <Field label="From">
          <input type="datetime-local" step={900} value={start} onInput={(e) => setStart(e.currentTarget.value)} />
        </Field>
        <Field label="Until">
          <input type="datetime-local" step={900} value={end} onInput={(e) => setEnd(e.currentTarget.value)} />
        </Field>
        <Field label="Seats at least">
          <input type="number" min={1} value={capacity} onInput={(e) => setCapacity(e.currentTarget.value)} />
        </Field>
        <Field label="With equipment">
          <input type="text" value={equipment} onInput={(e) => setEquipment(e.currentTarget.value)} />
        </Field>
        <button type="submit" disabled={busy}>
          {busy ? "Searching…" : "Search"}
        </button>
      </form>
      <ErrorMessage error={error} />
      {found?.length === 0 && <Empty>No room is free for that whole time.</Empty>}
      {found && found.length > 0 && (
        <ul class="found">
          {found.map((room) => (
            <li key={room.id}>
              <span>
                {room.name} · {room.capacity} seats{room.building ? ` · ${room.building}` : ""}
              </span>
              <button type="button" onClick={() => onBook(room, interval)}>
                Book {room.name}
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
