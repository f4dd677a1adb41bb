// The signed-in session: the access token lives in memory only; the refresh token is an HttpOnly cookie
// the app never sees. One refresh at a time across tabs (Web Locks), since rotation makes a second,
// concurrent use of the same cookie look like theft and revokes the sign-in.

export interface User {
  id: number;
  email: string;
  name: string;
  role: "admin" | "employee";
  is_active: boolean;
}

interface TokenBody {
  access_token: string;
  expires_in: number;
  user: User;
}

const COOKIE_HEADERS = { "X-Requested-With": "fetch", "Content-Type": "application/json" };
const LOCK = "meeting-rooms-refresh";
const EARLY_S = 60; // refresh this long before the access token expires

let accessToken: string | null = null;
let expiresAt = 0;
let currentUser: User | null = null;
let timer: ReturnType<typeof setTimeout> | undefined;
let inFlight: Promise<User | null> | null = null;
const listeners = new Set<(user: User | null) => void>();
const channel = typeof BroadcastChannel === "undefined" ? null : new BroadcastChannel("meeting-rooms-auth");

channel?.addEventListener("message", (event: MessageEvent<unknown>) => {
  if (event.data === "signed-out") forget();
});

export function onUserChange(listener: (user: User | null) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function user(): User | null {
  return currentUser;
}

function publish(): void {
  for (const listener of listeners) listener(currentUser);
}

function forget(): void {
  accessToken = null;
  expiresAt = 0;
  currentUser = null;
  clearTimeout(timer);
  publish();
}

async function withLock<T>(work: () => Promise<T>): Promise<T> {
  if (typeof navigator !== "undefined" && "locks" in navigator) {
    return navigator.locks.request(LOCK, work);
  }
  return work();
}

/** Trades the cookie for a new access token (and a rotated cookie); null when there is no sign-in. */
export function refresh(): Promise<User | null> {
  inFlight ??= withLock(async () => {
    const response = await fetch("/auth/refresh", {
      method: "POST",
      headers: COOKIE_HEADERS,
      credentials: "same-origin",
    });
    if (!response.ok) {
      forget();
      return null;
    }
    const body = (await response.json()) as TokenBody;
    accessToken = body.access_token;
    expiresAt = Date.now() + body.expires_in * 1000;
    currentUser = body.user;
    clearTimeout(timer);
    timer = setTimeout(() => void refresh(), Math.max(5, body.expires_in - EARLY_S) * 1000);
    publish();
    return currentUser;
  }).finally(() => {
    inFlight = null;
  });
  return inFlight;
}

/** A valid access token, refreshed first when it is about to expire; null when signed out. */
export async function token(): Promise<string | null> {
  if (accessToken && Date.now() < expiresAt - 5_000) return accessToken;
  await refresh();
  return accessToken;
}

/** Where the sign-in button goes: the provider, then back to this page. */
export function signInUrl(returnTo: string): string {
  return `/auth/google/login?return_to=${encodeURIComponent(returnTo)}`;
}

export async function signOut(): Promise<void> {
  await withLock(() => fetch("/auth/logout", { method: "POST", headers: COOKIE_HEADERS, credentials: "same-origin" }));
  forget();
  channel?.postMessage("signed-out");
}
