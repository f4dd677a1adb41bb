import { useEffect, useState } from "preact/hooks";
import { onUserChange, refresh, signInUrl, signOut, user as currentUser, type User } from "./auth";
import { Loading } from "./components/Status";
import { AdminRooms } from "./pages/AdminRooms";
import { AdminUsers } from "./pages/AdminUsers";
import { DayView } from "./pages/DayView";
import { MyReservations } from "./pages/MyReservations";
import { interceptLinks, navigate, useLocation } from "./router";

const PAGES = [
  { path: "/app/day", label: "Day view", admin: false },
  { path: "/app/my", label: "My reservations", admin: false },
  { path: "/app/admin/rooms", label: "Rooms", admin: true },
  { path: "/app/admin/users", label: "Users", admin: true },
] as const;

export function App() {
  const [user, setUser] = useState<User | null>(currentUser());
  const [checking, setChecking] = useState(true);
  const url = useLocation();

  useEffect(() => {
    const stop = onUserChange(setUser);
    void refresh().finally(() => setChecking(false));
    return stop;
  }, []);

  useEffect(() => {
    const page = PAGES.find((p) => url.pathname.startsWith(p.path));
    document.title = page ? `${page.label} · Meeting rooms` : "Meeting rooms";
  }, [url.pathname]);

  if (checking) return <Loading what="Signing you in" />;
  if (!user) return <SignIn returnTo={url.pathname === "/" ? "/app/day" : url.pathname + url.search} />;

  const page = PAGES.find((p) => url.pathname.startsWith(p.path)) ?? PAGES[0];
  const allowed = !page.admin || user.role === "admin";
  return (
    <div class="shell" onClick={interceptLinks}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <span class="brand">Meeting rooms</span>
        <nav aria-label="Pages">
          <ul>
            {PAGES.filter((p) => !p.admin || user.role === "admin").map((p) => (
              <li key={p.path}>
                <a href={p.path} aria-current={p === page ? "page" : undefined}>
                  {p.admin ? `Admin: ${p.label}` : p.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span>{user.name || user.email}</span>
          <button
            type="button"
            onClick={() => {
              void signOut().then(() => navigate("/app/day"));
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {!allowed ? (
          <p class="error" role="alert">
            This page is for admins.
          </p>
        ) : page.path === "/app/day" ? (
          <DayView user={user} />
        ) : page.path === "/app/my" ? (
          <MyReservations />
        ) : page.path === "/app/admin/rooms" ? (
          <AdminRooms />
        ) : (
          <AdminUsers self={user} />
        )}
      </main>
    </div>
  );
}

function SignIn({ returnTo }: { returnTo: string }) {
  return (
    <main id="main" class="signin">
      <h1>Meeting rooms</h1>
      <p>Find a free room and book it in a few clicks.</p>
      <a class="button primary" href={signInUrl(returnTo)}>
        Sign in
      </a>
    </main>
  );
}
