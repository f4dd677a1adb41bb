// The public API, as the gateway serves it. Every error becomes an ApiError with words a person reads.
import { refresh, token } from "./auth";

export interface FieldError {
  field: string;
  message: string;
}

export interface Conflict {
  id?: number;
  start_time: string;
  end_time: string;
}

export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  errors?: FieldError[];
  conflicts?: (Conflict & { conflicts?: Conflict[] })[];
}

export class ApiError extends Error {
  constructor(
    readonly problem: Problem,
    message: string,
  ) {
    super(message);
  }

  /** The field errors by field name (the first part of a dotted path such as opening_hours.mon.0). */
  fieldErrors(): Record<string, string> {
    const result: Record<string, string> = {};
    for (const error of this.problem.errors ?? []) {
      const field = error.field.split(".")[0] ?? error.field;
      result[field] = result[field] ? `${result[field]} ${error.message}` : error.message;
    }
    return result;
  }
}

const STATUS_WORDS: Record<number, string> = {
  400: "The request was not understood.",
  401: "Your session has ended. Please sign in again.",
  403: "You are not allowed to do this.",
  404: "This no longer exists.",
  409: "This clashes with something that already exists.",
  413: "That is too much data to send at once.",
  422: "Some values are not valid.",
  429: "Too many requests. Please wait a moment and try again.",
  502: "The service is not answering. Please try again shortly.",
  503: "The service is not available right now. Please try again shortly.",
  504: "The service took too long to answer. Please try again.",
};

/** A problem in words: the API's own detail where it has one, else a sentence for its status. */
export function describe(problem: Problem): string {
  if (problem.type?.endsWith("/unknown-room")) return "This room cannot be booked (yet). Please try again in a moment.";
  if (problem.type?.endsWith("/quota-exceeded")) return problem.detail ?? "You have too many upcoming bookings.";
  return problem.detail ?? STATUS_WORDS[problem.status] ?? `Something went wrong (error ${problem.status}).`;
}

type Query = Record<string, string | number | boolean | undefined | null>;

function url(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

async function send(method: string, path: string, body: unknown, retry: boolean): Promise<Response> {
  const bearer = await token();
  const headers: Record<string, string> = {};
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? null : JSON.stringify(body) });
  } catch {
    throw new ApiError({ status: 0 }, "The server cannot be reached. Check your connection and try again.");
  }
  if (response.status === 401 && retry && (await refresh())) return send(method, path, body, false);
  return response;
}

export async function request<T>(
  method: string,
  path: string,
  options: { query?: Query; body?: unknown } = {},
): Promise<T> {
  const response = await send(method, url(path, options.query), options.body, true);
  if (response.status === 204) return undefined as T;
  const type = response.headers.get("Content-Type") ?? "";
  const payload: unknown = type.includes("json") ? await response.json() : null;
  if (!response.ok) {
    const problem = { status: response.status, ...(payload as Partial<Problem> | null) };
    throw new ApiError(problem, describe(problem));
  }
  return payload as T;
}

export const api = {
  get: <T>(path: string, query?: Query) => request<T>("GET", path, query ? { query } : {}),
  post: <T>(path: string, body: unknown) => request<T>("POST", path, { body }),
  patch: <T>(path: string, body: unknown) => request<T>("PATCH", path, { body }),
  put: <T>(path: string, body: unknown) => request<T>("PUT", path, { body }),
  delete: (path: string, query?: Query) => request<undefined>("DELETE", path, query ? { query } : {}),
};

export interface Page<T> {
  items: T[];
  page: number;
  per_page: number;
  total: number;
}

export type OpeningHours = Partial<
  Record<"mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun", { start: string; end: string }[]>
>;

export interface Room {
  id: number;
  name: string;
  capacity: number;
  equipment: string[];
  building: string | null;
  floor: string | null;
  description: string | null;
  timezone: string;
  is_active: boolean;
  max_days_ahead: number | null;
  max_duration_minutes: number | null;
  buffer_minutes: number;
  opening_hours: OpeningHours | null;
  requires_check_in: boolean;
  check_in_minutes: number;
}

export interface Reservation {
  id: number;
  room_id: number;
  user_id: number;
  start_time: string;
  end_time: string;
  purpose: string | null;
  attendees: number;
  status: "confirmed" | "cancelled" | "released";
  series_id?: number | null;
  checked_in_at?: string | null;
}

export interface Availability {
  room_id: number;
  date: string;
  timezone: string;
  booked: { start_time: string; end_time: string }[];
  free: { start_time: string; end_time: string }[];
}

/** Every page of a list (the API caps per_page at 200). */
export async function all<T>(path: string, query: Query = {}): Promise<T[]> {
  const items: T[] = [];
  for (let page = 1; page < 50; page++) {
    const result = await api.get<Page<T>>(path, { ...query, page, per_page: 200 });
    items.push(...result.items);
    if (items.length >= result.total || result.items.length === 0) break;
  }
  return items;
}
