/**
 * A rebuild survives its process: the real service (`node src/main.ts`) is SIGKILLed in the
 * middle of a blue/green rebuild and started again on the same database. Meanwhile and after,
 * the API serves the old generation unchanged; the new service resumes the rebuild from its
 * checkpoint (PGlite: at once; PostgreSQL: once the dead process's lease has lapsed) and
 * switches; the tables then hold exactly what a fresh replay produces, and nothing of the
 * half-built generation is left.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { sql } from "kysely"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inlineProjections } from "../../projections/index.ts"
import { Database } from "../../src/db/Database.ts"
import { EventStore } from "../../src/eventstore/EventStore.ts"
import { rebuildProjections } from "../../src/eventstore/rebuild.ts"
import { backend, createScratchDatabase } from "../support/db.ts"
import { dumpProjections } from "../support/projection-dump.ts"
import { api, exited, freePort, startService, waitFor } from "../support/service-process.ts"

const ADMIN = "rebuild-crash-admin"
const SUPPORT = "rebuild-crash-support"
const REBUILT = ["import-progress", "list-rows"]

describe(`a rebuild whose process is killed (${backend})`, () => {
  it("resumes at the next start, serves the old rows meanwhile, and ends as a fresh replay", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "rebuild-crash-"))
    const scratch = backend === "postgres" ? await createScratchDatabase() : undefined
    const port = await freePort()
    const env: Record<string, string> = {
      PORT: String(port),
      ADMIN_TOKEN: ADMIN,
      SUPPORT_TOKEN: SUPPORT,
      DEMO_USER: "false",
      FAKE_PAGE_LATENCY_MS: "0",
      RECONCILE_INTERVAL_MS: "0",
      REBUILD_LEASE_MS: "1000",
      ...(scratch ? { DATABASE_URL: scratch.url } : { DATABASE_URL: "", PGLITE_DATA_DIR: dataDir })
    }
    const output: Array<string> = []
    const began = Date.now()
    const phase = (what: string) => output.push(`\n[test +${((Date.now() - began) / 1000).toFixed(1)} s] ${what}\n`)
    const call = api(port)
    // Slow enough to be caught in the middle: some 200 events at 50 a second.
    let child = startService({ ...env, REBUILD_BATCH_SIZE: "5", REBUILD_MAX_EVENTS_PER_SECOND: "50" }, output)
    try {
      await waitFor("the service", async () => (await call("GET", "/openapi.json")).status === 200 ? true : undefined, 40_000)
      const user = (await call("POST", "/api/admin/users", ADMIN, { email: "crash@example.com", credits: 2000, salesNavigator: true })).body
      const runs: Array<{ runId: string; listId: string }> = []
      for (const n of [250, 200]) {
        const url = `https://www.linkedin.com/sales/search/people?query=(crash-${crypto.randomUUID().slice(0, 8)})`
        const started = (await call("POST", "/api/lists/import-sales-nav", user.token, { url, maxResults: n })).body
        await waitFor("the import", async () =>
          (await call("GET", `/api/imports/${started.runId}`, user.token)).body.status === "completed" ? true : undefined, 40_000)
        runs.push(started)
      }
      /** What the user reads: every import, the rows of every list, the credits. */
      const readings = async () => ({
        imports: await Promise.all(runs.map(async (r) => (await call("GET", `/api/imports/${r.runId}`, user.token)).body)),
        rows: await Promise.all(runs.map(async (r) => (await call("GET", `/api/lists/${r.listId}/rows?limit=500`, user.token)).body)),
        credits: (await call("GET", "/api/credits", user.token)).body
      })
      const before = await readings()
      expect(before.rows.map((r) => r.total)).toEqual([250, 200])

      for (const name of REBUILT) expect((await call("POST", `/api/support/projections/${name}/rebuild`, SUPPORT)).status).toBe(202)
      phase("imports done; starting the rebuilds")
      await waitFor("the rebuild to be half done", async () => {
        const states = (await call("GET", "/api/support/projections", SUPPORT)).body.projections as Array<any>
        const progress = states.find((p) => p.name === "import-progress")!.rebuild
        return progress !== null && progress.processed > 20 && progress.processed < progress.total ? true : undefined
      }, 30_000)
      phase("killing the service mid-rebuild")
      const gone = exited(child)
      child.kill("SIGKILL")
      await gone

      child = startService(env, output)
      await waitFor("the service again", async () => (await call("GET", "/openapi.json")).status === 200 ? true : undefined, 40_000)
      phase("restarted")
      // The old generation serves while the rebuild resumes.
      expect(await readings()).toEqual(before)
      const live = await waitFor("the rebuild to switch", async () => {
        const states = (await call("GET", "/api/support/projections", SUPPORT)).body.projections as Array<any>
        return states.every((p) => p.status === "live") ? states : undefined
      }, 40_000)
      expect(live.filter((p) => REBUILT.includes(p.name)).map((p) => p.version)).toEqual([2, 2])
      expect(await readings()).toEqual(before)
      expect(output.join("")).toMatch(/rebuild import-progress: resuming/)
      phase("switched; stopping the service")
      const stopped = exited(child)
      child.kill("SIGTERM")
      await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, 20_000))])
      child.kill("SIGKILL")
      await stopped
      phase("stopped; checking the database")

      // On the database itself: no half-built generation left, and a fresh replay changes nothing.
      const database = scratch ? Database.layerPostgres(scratch.url) : Database.layerPGlite({ dataDir })
      await Effect.runPromise(Effect.gen(function*() {
        const db = yield* Database
        const { rows: schemas } = yield* db.query((q) =>
          sql<{ name: string }>`select nspname as name from pg_namespace where nspname like 'projection\\_%'`.execute(q)
        )
        expect(schemas).toEqual([])
        const rebuilt = yield* dumpProjections
        yield* rebuildProjections(inlineProjections, { batchSize: 100_000 })
        expect(yield* dumpProjections).toEqual(rebuilt)
      }).pipe(
        Effect.provide(EventStore.layer({ inline: inlineProjections }).pipe(Layer.provideMerge(database))),
        Effect.timeout("60 seconds"),
        Effect.orDie,
        Effect.scoped
      ))
    } catch (e) {
      throw new Error(`${String(e)}\n--- service output ---\n${output.join("").slice(-4000)}`)
    } finally {
      child.kill("SIGKILL")
      rmSync(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 })
      await scratch?.drop()
    }
  }, 240_000)
})
