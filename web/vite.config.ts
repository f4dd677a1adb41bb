import { defineConfig } from "vitest/config";

// Preact's automatic JSX runtime, without a Babel-based plugin: Vite's own transform does it.
export default defineConfig({
  base: "/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    assetsDir: "assets",
    sourcemap: false,
    target: "es2022",
    reportCompressedSize: true,
  },
  server: {
    // `npm run dev` talks to `make run`'s gateway, so the API and the sign-in cookie are same-origin.
    proxy: Object.fromEntries(
      ["/auth", "/users", "/admin", "/rooms", "/reservations", "/reservation-series", "/availability", "/calendar"].map(
        (path) => [path, "http://localhost:8080"],
      ),
    ),
  },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
});
