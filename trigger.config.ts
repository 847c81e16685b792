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
  // An import is a parent and three short child runs a page. A fresh process per run cost
  // 525-664 ms each (median, measured on the real runtime: bench/trigger-keepalive.ts); a
  // kept-alive one 13-22 ms, and it keeps its database pool and caches.
  processKeepAlive: { enabled: true, maxExecutionsPerProcess: 100 },
  retries: {
    enabledInDev: true,
    default: { maxAttempts: 3, factor: 2, minTimeoutInMs: 1_000, maxTimeoutInMs: 30_000, randomize: true }
  },
  build: {
    // Workers never open PGlite (they require DATABASE_URL), but the code that can is in the
    // bundle: keep its WebAssembly out. (postgres.js is bundled: esbuild ignores an external
    // entry for it, its nested cjs/package.json has no name.)
    external: ["@electric-sql/pglite"]
  }
})
