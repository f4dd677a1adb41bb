// A tiny client-side router over the History API: the app's pages live under /app/.
import { useEffect, useState } from "preact/hooks";

const listeners = new Set<() => void>();

export function navigate(path: string): void {
  if (path === location.pathname + location.search) return;
  history.pushState(null, "", path);
  for (const listener of listeners) listener();
}

export function useLocation(): URL {
  const [url, setUrl] = useState(() => new URL(location.href));
  useEffect(() => {
    const update = (): void => setUrl(new URL(location.href));
    listeners.add(update);
    addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      removeEventListener("popstate", update);
    };
  }, []);
  return url;
}

/** Same-origin links under /app/ change the page without a reload. */
export function interceptLinks(event: MouseEvent): void {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey)
    return;
  const target = event.target instanceof Element ? event.target.closest("a") : null;
  if (!target || target.target || target.origin !== location.origin || !target.pathname.startsWith("/app/")) return;
  event.preventDefault();
  navigate(target.pathname + target.search);
}
