// The day view's arithmetic: wall-clock times in IANA zones (DST days have 23 or 25 hours), the grid's
// cells as instants, and which cells are booked, free or closed. Pure functions over Date and Intl.

export const MINUTE = 60_000;
export const SLOT_MINUTES = 30;

export interface Interval {
  start: Date;
  end: Date;
}

export type CellState = "free" | "busy" | "closed";

const partsFormatters = new Map<string, Intl.DateTimeFormat>();

function partsFormatter(zone: string): Intl.DateTimeFormat {
  let formatter = partsFormatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    partsFormatters.set(zone, formatter);
  }
  return formatter;
}

export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

/** The wall-clock reading of an instant in a zone. */
export function wallClock(instant: Date, zone: string): WallClock {
  const parts: Record<string, number> = {};
  for (const part of partsFormatter(zone).formatToParts(instant)) {
    if (part.type !== "literal") parts[part.type] = Number(part.value);
  }
  return {
    year: parts.year ?? 0,
    month: parts.month ?? 0,
    day: parts.day ?? 0,
    hour: parts.hour ?? 0,
    minute: parts.minute ?? 0,
  };
}

/** Minutes the zone is ahead of UTC at an instant (Berlin in July: 120). */
export function offsetMinutes(instant: Date, zone: string): number {
  const clock = wallClock(instant, zone);
  const asUtc = Date.UTC(clock.year, clock.month - 1, clock.day, clock.hour, clock.minute);
  const truncated = Math.floor(instant.getTime() / MINUTE) * MINUTE;
  return Math.round((asUtc - truncated) / MINUTE);
}

/** "2030-03-31" → [2030, 3, 31]; throws on anything else. */
export function parseDate(date: string): [number, number, number] {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!match) throw new Error(`not a date: ${date}`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** The date `days` after `date` (calendar arithmetic, no zone involved). */
export function addDays(date: string, days: number): string {
  const [year, month, day] = parseDate(date);
  return new Date(Date.UTC(year, month - 1, day + days)).toISOString().slice(0, 10);
}

/** The local date of an instant in a zone, as YYYY-MM-DD. */
export function localDate(instant: Date, zone: string): string {
  const { year, month, day } = wallClock(instant, zone);
  return `${String(year).padStart(4, "0")}-${pad(month)}-${pad(day)}`;
}

/**
 * The instant a wall-clock time on a date has in a zone. A time in a DST gap moves forward by the gap
 * (02:30 on a spring-forward day is 03:30); a time that occurs twice is its first occurrence.
 */
export function zonedInstant(date: string, minutes: number, zone: string): Date {
  const [year, month, day] = parseDate(date);
  const naive = Date.UTC(year, month - 1, day, 0, minutes);
  // The offset is one of the offsets around the naive time; try both and keep one that reads back right.
  const candidates = [
    offsetMinutes(new Date(naive - 36 * 60 * MINUTE), zone),
    offsetMinutes(new Date(naive + 36 * 60 * MINUTE), zone),
  ];
  const exact = candidates
    .map((offset) => new Date(naive - offset * MINUTE))
    .filter((instant) => Math.round((naive - instant.getTime()) / MINUTE) === offsetMinutes(instant, zone))
    .sort((a, b) => a.getTime() - b.getTime());
  if (exact[0]) return exact[0];
  // In a gap: read with the offset before the gap, which lands after it.
  const before = Math.min(...candidates);
  return new Date(naive - before * MINUTE);
}

/** The local day in a zone as an interval: 24 hours, or 23/25 on DST days. */
export function dayInterval(date: string, zone: string): Interval {
  return { start: zonedInstant(date, 0, zone), end: zonedInstant(addDays(date, 1), 0, zone) };
}

/** The grid's cells: SLOT_MINUTES apart from the start of the local day to its end (46 or 50 on DST days). */
export function cells(date: string, zone: string, slotMinutes = SLOT_MINUTES): Interval[] {
  const day = dayInterval(date, zone);
  const result: Interval[] = [];
  for (let start = day.start.getTime(); start < day.end.getTime(); start += slotMinutes * MINUTE) {
    result.push({ start: new Date(start), end: new Date(Math.min(start + slotMinutes * MINUTE, day.end.getTime())) });
  }
  return result;
}

/** Half-open intervals [start, end) overlap: back-to-back ones do not. */
export function overlaps(a: Interval, b: Interval): boolean {
  return a.start.getTime() < b.end.getTime() && b.start.getTime() < a.end.getTime();
}

function covers(outer: Interval, inner: Interval): boolean {
  return outer.start.getTime() <= inner.start.getTime() && inner.end.getTime() <= outer.end.getTime();
}

/** A cell is busy if any booking overlaps it, free if open time covers it, else closed. */
export function cellState(cell: Interval, booked: readonly Interval[], free: readonly Interval[]): CellState {
  if (booked.some((slot) => overlaps(slot, cell))) return "busy";
  return free.some((slot) => covers(slot, cell)) ? "free" : "closed";
}

/** Joins overlapping or touching intervals (availability of several local days, or merged lists). */
export function merge(intervals: readonly Interval[]): Interval[] {
  const sorted = [...intervals].sort((a, b) => a.start.getTime() - b.start.getTime());
  const result: Interval[] = [];
  for (const interval of sorted) {
    const last = result[result.length - 1];
    if (last && interval.start.getTime() <= last.end.getTime()) {
      if (interval.end.getTime() > last.end.getTime()) last.end = interval.end;
    } else {
      result.push({ start: interval.start, end: interval.end });
    }
  }
  return result;
}

/** The room-local dates whose availability covers an interval (two when the viewer's day straddles). */
export function datesCovering(interval: Interval, zone: string): string[] {
  const first = localDate(interval.start, zone);
  const last = localDate(new Date(interval.end.getTime() - 1), zone);
  const dates = [first];
  while (dates[dates.length - 1] !== last && dates.length < 4) dates.push(addDays(dates[dates.length - 1] ?? first, 1));
  return dates;
}

/** The cells from one index to another (either order) as one interval, or null if any is not free. */
export function selection(
  grid: readonly Interval[],
  states: readonly CellState[],
  from: number,
  to: number,
): Interval | null {
  const [low, high] = from <= to ? [from, to] : [to, from];
  for (let index = low; index <= high; index++) if (states[index] !== "free") return null;
  const first = grid[low];
  const last = grid[high];
  return first && last ? { start: first.start, end: last.end } : null;
}

function pad(value: number): string {
  return String(value).padStart(2, "0");
}

/** "14:30" in a zone. */
export function formatTime(instant: Date, zone: string): string {
  const { hour, minute } = wallClock(instant, zone);
  return `${pad(hour)}:${pad(minute)}`;
}

/** "UTC+2", "UTC−3:30", "UTC" for a zone at an instant. */
export function formatOffset(instant: Date, zone: string): string {
  const offset = offsetMinutes(instant, zone);
  if (offset === 0) return "UTC";
  const sign = offset > 0 ? "+" : "−";
  const hours = Math.floor(Math.abs(offset) / 60);
  const minutes = Math.abs(offset) % 60;
  return `UTC${sign}${hours}${minutes ? `:${pad(minutes)}` : ""}`;
}

/** "14:00–15:30", with the other zone's reading appended where it differs. */
export function formatRange(interval: Interval, zone: string, otherZone?: string): string {
  const main = `${formatTime(interval.start, zone)}–${formatTime(interval.end, zone)}`;
  if (!otherZone || offsetMinutes(interval.start, zone) === offsetMinutes(interval.start, otherZone)) return main;
  return `${main} (${formatTime(interval.start, otherZone)}–${formatTime(interval.end, otherZone)} ${shortZone(otherZone)})`;
}

/** The last part of an IANA name, readable: "America/New_York" → "New York". */
export function shortZone(zone: string): string {
  return (zone.split("/").pop() ?? zone).replace(/_/g, " ");
}

/** Minutes since local midnight → "HH:MM" (for labels of hour columns). */
export function minutesLabel(minutes: number): string {
  return `${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
}

/** The value of an <input type="datetime-local"> ("2030-01-02T10:00") as an instant in a zone. */
export function fromLocalInput(value: string, zone: string): Date | null {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})/.exec(value);
  if (!match?.[1]) return null;
  return zonedInstant(match[1], Number(match[2]) * 60 + Number(match[3]), zone);
}

/** An instant as the value of an <input type="datetime-local"> in a zone. */
export function toLocalInput(instant: Date, zone: string): string {
  return `${localDate(instant, zone)}T${formatTime(instant, zone)}`;
}

/** The viewer's own IANA zone (the browser's). */
export function viewerZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}
