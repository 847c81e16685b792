/**
 * Trigger.dev project configuration: `npx trigger.dev@4 deploy` bundles the tasks in
 * trigger/ for the node-24 runtime. Set TRIGGER_PROJECT_REF to your project's ref.
 */
import { defineConfig } from "@trigger.dev/sdk"

export default defineConfig({
  project: process.env.TRIGGER_PROJECT_REF ?? "proj_set_TRIGGER_PROJECT_REF",
  runtime: "node-24",
  dirs: ["./trigger"],
  maxDuration: 6 * 3600,
  retries: {
    enabledInDev: true,
    default: { maxAttempts: 3, factor: 2, minTimeoutInMs: 1_000, maxTimeoutInMs: 30_000, randomize: true }
  },
  build: {
    // PGlite ships its own wasm; keep it (and postgres.js) out of the bundle.
    external: ["@electric-sql/pglite", "postgres"]
  }
})
