import { describe, expect, it } from "vitest";
import {
  addDays,
  cellState,
  cells,
  datesCovering,
  dayInterval,
  formatOffset,
  formatRange,
  fromLocalInput,
  localDate,
  merge,
  offsetMinutes,
  overlaps,
  selection,
  toLocalInput,
  zonedInstant,
  type Interval,
} from "./timegrid";

const at = (iso: string): Date => new Date(iso);
const span = (start: string, end: string): Interval => ({ start: at(start), end: at(end) });
const hours = (interval: Interval): number => (interval.end.getTime() - interval.start.getTime()) / 3_600_000;

describe("zones", () => {
  it("reads offsets in summer, winter and half-hour zones", () => {
    expect(offsetMinutes(at("2030-07-01T12:00:00Z"), "Europe/Berlin")).toBe(120);
    expect(offsetMinutes(at("2030-01-01T12:00:00Z"), "Europe/Berlin")).toBe(60);
    expect(offsetMinutes(at("2030-01-01T12:00:00Z"), "America/New_York")).toBe(-300);
    expect(offsetMinutes(at("2030-01-01T12:00:00Z"), "Asia/Kolkata")).toBe(330);
    expect(offsetMinutes(at("2030-01-01T12:00:00Z"), "UTC")).toBe(0);
    expect(formatOffset(at("2030-01-01T12:00:00Z"), "Asia/Kolkata")).toBe("UTC+5:30");
    expect(formatOffset(at("2030-01-01T12:00:00Z"), "America/New_York")).toBe("UTC−5");
  });

  it("turns wall-clock times into instants", () => {
    expect(zonedInstant("2030-07-01", 9 * 60, "Europe/Berlin").toISOString()).toBe("2030-07-01T07:00:00.000Z");
    expect(zonedInstant("2030-01-01", 0, "America/New_York").toISOString()).toBe("2030-01-01T05:00:00.000Z");
    expect(zonedInstant("2030-01-01", 23 * 60 + 30, "Asia/Kolkata").toISOString()).toBe("2030-01-01T18:00:00.000Z");
  });

  it("moves a time in the spring-forward gap forward by the gap", () => {
    // Berlin, 2030-03-31: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist.
    expect(zonedInstant("2030-03-31", 150, "Europe/Berlin").toISOString()).toBe("2030-03-31T01:30:00.000Z");
    expect(zonedInstant("2030-03-10", 150, "America/New_York").toISOString()).toBe("2030-03-10T07:30:00.000Z");
  });

  it("takes the first of a time that occurs twice when clocks fall back", () => {
    // Berlin, 2030-10-27: 02:30 happens at 00:30Z (CEST) and again at 01:30Z (CET).
    expect(zonedInstant("2030-10-27", 150, "Europe/Berlin").toISOString()).toBe("2030-10-27T00:30:00.000Z");
  });

  it("reads local dates and datetime-local inputs in a zone", () => {
    expect(localDate(at("2030-01-01T23:30:00Z"), "Europe/Berlin")).toBe("2030-01-02");
    expect(localDate(at("2030-01-01T03:30:00Z"), "America/New_York")).toBe("2029-12-31");
    expect(addDays("2030-02-28", 1)).toBe("2030-03-01");
    expect(addDays("2030-01-01", -1)).toBe("2029-12-31");
    expect(fromLocalInput("2030-07-01T10:15", "Europe/Berlin")?.toISOString()).toBe("2030-07-01T08:15:00.000Z");
    expect(fromLocalInput("nonsense", "UTC")).toBeNull();
    expect(toLocalInput(at("2030-07-01T08:15:00Z"), "Europe/Berlin")).toBe("2030-07-01T10:15");
  });
});

describe("DST days", () => {
  it("has 23 hours in spring, 25 in autumn and 24 otherwise", () => {
    expect(hours(dayInterval("2030-03-31", "Europe/Berlin"))).toBe(23);
    expect(hours(dayInterval("2030-10-27", "Europe/Berlin"))).toBe(25);
    expect(hours(dayInterval("2030-07-01", "Europe/Berlin"))).toBe(24);
    expect(hours(dayInterval("2030-11-03", "America/New_York"))).toBe(25);
    expect(hours(dayInterval("2030-03-31", "UTC"))).toBe(24);
  });

  it("gives the grid 46, 50 or 48 half-hour cells, each 30 minutes, back to back", () => {
    for (const [date, count] of [
      ["2030-03-31", 46],
      ["2030-10-27", 50],
      ["2030-07-01", 48],
    ] as const) {
      const grid = cells(date, "Europe/Berlin");
      expect(grid).toHaveLength(count);
      grid.forEach((cell, index) => {
        expect(cell.end.getTime() - cell.start.getTime()).toBe(30 * 60_000);
        if (index > 0) expect(cell.start.getTime()).toBe(grid[index - 1]?.end.getTime());
      });
    }
  });

  it("needs two room-local days of availability when the viewer's day straddles the room's midnight", () => {
    const viewerDay = dayInterval("2030-07-01", "Europe/Berlin");
    expect(datesCovering(viewerDay, "Europe/Berlin")).toEqual(["2030-07-01"]);
    expect(datesCovering(viewerDay, "America/New_York")).toEqual(["2030-06-30", "2030-07-01"]);
    expect(datesCovering(viewerDay, "Asia/Tokyo")).toEqual(["2030-07-01", "2030-07-02"]);
  });
});

describe("overlapping slots", () => {
  const cell = span("2030-07-01T10:00:00Z", "2030-07-01T10:30:00Z");

  it("treats intervals as half-open: back to back is not an overlap", () => {
    expect(overlaps(cell, span("2030-07-01T10:30:00Z", "2030-07-01T11:00:00Z"))).toBe(false);
    expect(overlaps(cell, span("2030-07-01T09:00:00Z", "2030-07-01T10:00:00Z"))).toBe(false);
    expect(overlaps(cell, span("2030-07-01T10:29:00Z", "2030-07-01T11:00:00Z"))).toBe(true);
    expect(overlaps(cell, span("2030-07-01T09:00:00Z", "2030-07-01T12:00:00Z"))).toBe(true);
  });

  it("marks a cell busy, free or closed", () => {
    const free = [
      span("2030-07-01T08:00:00Z", "2030-07-01T10:15:00Z"),
      span("2030-07-01T10:45:00Z", "2030-07-01T18:00:00Z"),
    ];
    const booked = [span("2030-07-01T10:15:00Z", "2030-07-01T10:45:00Z")];
    expect(cellState(cell, booked, free)).toBe("busy");
    expect(cellState(span("2030-07-01T11:00:00Z", "2030-07-01T11:30:00Z"), booked, free)).toBe("free");
    expect(cellState(span("2030-07-01T18:00:00Z", "2030-07-01T18:30:00Z"), booked, free)).toBe("closed");
    expect(cellState(span("2030-07-01T17:45:00Z", "2030-07-01T18:15:00Z"), [], free)).toBe("closed");
  });

  it("merges overlapping and touching intervals in any order", () => {
    const merged = merge([
      span("2030-07-01T12:00:00Z", "2030-07-01T13:00:00Z"),
      span("2030-07-01T10:00:00Z", "2030-07-01T11:00:00Z"),
      span("2030-07-01T11:00:00Z", "2030-07-01T11:30:00Z"),
      span("2030-07-01T12:30:00Z", "2030-07-01T12:45:00Z"),
    ]);
    expect(merged.map((i) => [i.start.toISOString(), i.end.toISOString()])).toEqual([
      ["2030-07-01T10:00:00.000Z", "2030-07-01T11:30:00.000Z"],
      ["2030-07-01T12:00:00.000Z", "2030-07-01T13:00:00.000Z"],
    ]);
  });

  it("selects a range of free cells in either direction, never across a busy one", () => {
    const grid = cells("2030-07-01", "UTC");
    const states = grid.map((c) =>
      cellState(c, [span("2030-07-01T12:00:00Z", "2030-07-01T13:00:00Z")], [dayInterval("2030-07-01", "UTC")]),
    );
    expect(selection(grid, states, 20, 22)).toEqual(span("2030-07-01T10:00:00Z", "2030-07-01T11:30:00Z"));
    expect(selection(grid, states, 22, 20)).toEqual(span("2030-07-01T10:00:00Z", "2030-07-01T11:30:00Z"));
    expect(selection(grid, states, 22, 25)).toBeNull();
  });

  it("shows the room's time beside the viewer's where the zones differ", () => {
    const meeting = span("2030-07-01T08:00:00Z", "2030-07-01T09:00:00Z");
    expect(formatRange(meeting, "Europe/Berlin", "Europe/Paris")).toBe("10:00–11:00");
    expect(formatRange(meeting, "Europe/Berlin", "America/New_York")).toBe("10:00–11:00 (04:00–05:00 New York)");
  });
});
