import { describe as suite, expect, it } from "vitest";
import { ApiError, describe } from "./api";
import { conflictLines } from "./components/BookingDialog";
import { hoursText, parseHours } from "./pages/AdminRooms";

suite("errors in words", () => {
  it("prefers the API's own detail, else a sentence for the status", () => {
    expect(describe({ status: 422, detail: "Start must be before the end." })).toBe("Start must be before the end.");
    expect(describe({ status: 403 })).toBe("You are not allowed to do this.");
    expect(describe({ status: 418 })).toBe("Something went wrong (error 418).");
    expect(describe({ status: 422, type: "https://x/problems/unknown-room", detail: "Room 5 is unknown." })).toMatch(
      /cannot be booked \(yet\)/,
    );
  });

  it("groups field errors by their first path segment", () => {
    const error = new ApiError(
      {
        status: 422,
        errors: [
          { field: "opening_hours.mon.0.start", message: "Not a time." },
          { field: "opening_hours.tue", message: "Overlaps." },
          { field: "capacity", message: "Too small." },
        ],
      },
      "x",
    );
    expect(error.fieldErrors()).toEqual({ opening_hours: "Not a time. Overlaps.", capacity: "Too small." });
  });

  it("names each conflicting slot in the viewer's zone, with the room's beside it", () => {
    const single = new ApiError(
      {
        status: 409,
        conflicts: [{ id: 7, start_time: "2030-07-01T08:00:00+00:00", end_time: "2030-07-01T09:00:00+00:00" }],
      },
      "x",
    );
    expect(conflictLines(single, "Europe/Berlin", "America/New_York")).toEqual([
      "2030-07-01 10:00–11:00 (04:00–05:00 New York) is already booked (your reservation #7).",
    ]);
    const series = new ApiError(
      {
        status: 409,
        conflicts: [
          {
            start_time: "2030-07-08T08:00:00Z",
            end_time: "2030-07-08T09:00:00Z",
            conflicts: [{ start_time: "2030-07-08T08:30:00Z", end_time: "2030-07-08T09:30:00Z" }],
          },
        ],
      },
      "x",
    );
    expect(conflictLines(series, "UTC", "UTC")).toEqual([
      "The meeting on 2030-07-08 08:00–09:00: 2030-07-08 08:30–09:30 is already booked.",
    ]);
  });
});

suite("opening hours as text", () => {
  it("reads and writes intervals", () => {
    expect(parseHours("08:00-12:00, 13:00 – 18:00")).toEqual([
      { start: "08:00", end: "12:00" },
      { start: "13:00", end: "18:00" },
    ]);
    expect(parseHours("  ")).toEqual([]);
    expect(hoursText([{ start: "08:00", end: "24:00" }])).toBe("08:00-24:00");
    expect(hoursText(undefined)).toBe("");
  });
});
