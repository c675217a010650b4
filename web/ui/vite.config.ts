// The Tend web app's build. `web/build.rs` runs it with TEND_UI_OUT_DIR set to a folder in
// Cargo's OUT_DIR, which the `tend` binary embeds; `npm run build` alone writes to `dist/`.
import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: process.env.TEND_UI_OUT_DIR ?? "dist",
    emptyOutDir: true,
    // The budget script reads this to tell the initial bundle from lazily loaded parts.
    manifest: true,
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: { "/api": "http://127.0.0.1:8080", "/auth": "http://127.0.0.1:8080" },
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
  },
});
