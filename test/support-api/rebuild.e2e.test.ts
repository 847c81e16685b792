/**
 * Blue/green rebuilds through the support API while imports run: every projection is rebuilt
 * while 3 imports append, readers polling every 50 ms get 200 throughout, and what the
 * rebuilt generation holds at the end is exactly what a fresh replay of the log produces —
 * with the events appended during the rebuild caught up, none lost, none applied twice.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { sql } from "kysely"
import { inlineProjections } from "../../projections/index.ts"
import { Credits } from "../../src/credits/Credits.ts"
import { Database } from "../../src/db/Database.ts"
import { rebuildProjections } from "../../src/eventstore/rebuild.ts"
import { eventually } from "../support/eventually.ts"
import { makeUser } from "../support/fixtures.ts"
import { awaitImport, expectImportInvariants, startImport } from "../support/imports.ts"
import { dumpProjections } from "../support/projection-dump.ts"
import { call, client, SUPPORT_TOKEN, TestApp } from "../support/server.ts"

const search = (name: string) => `https://www.linkedin.com/sales/search/people?query=(${name}-${crypto.randomUUID().slice(0, 8)})`

layer(
  // Throttled so replaying the credits' history alone takes a second, and fast enough to catch
  // up with three imports appending (some 30 events a second: a page every 400 ms each) and
  // switch while they do.
  TestApp({ FAKE_PAGE_LATENCY_MS: "400", REBUILD_BATCH_SIZE: "25", REBUILD_MAX_EVENTS_PER_SECOND: "200" }),
  { excludeTestServices: true }
)("a blue/green rebuild under load", (it) => {
  it.effect("ends with the rows of a fresh replay while 3 imports append; reads answer 200 throughout", () =>
    Effect.gen(function*() {
      const api = yield* client
      const support = (method: string, path: string) => call(() => api.request(method, path, { token: SUPPORT_TOKEN }))
      const alice = yield* makeUser({ credits: 5000 })
      const bob = yield* makeUser({ credits: 5000 })
      const carol = yield* makeUser({ credits: 5000 })
      // History for the replay: an import, and 200 grants for the credits.
      const seed = yield* startImport(api, alice.token, { url: `${search("seed")}&fakeLatencyMs=0`, maxResults: 250 })
      yield* awaitImport(api, alice.token, seed.body.runId, seed.body.listId)
      const credits = yield* Credits
      for (let i = 0; i < 200; i++) yield* credits.grant(bob.userId, 1, "history").pipe(Effect.orDie)

      // Three accounts, so the three imports run at once (one at a time per account).
      const imports = [
        { user: alice, reply: yield* startImport(api, alice.token, { url: search("live-a"), maxResults: 500 }) },
        { user: carol, reply: yield* startImport(api, carol.token, { url: search("live-b"), maxResults: 500 }) },
        { user: bob, reply: yield* startImport(api, bob.token, { url: search("live-c"), maxResults: 500 }) }
      ]
      const watched = imports[0]!.reply.body
      const statuses: Array<number> = []
      const reads = yield* Effect.gen(function*() {
        while (true) {
          for (const path of [`/api/lists/${watched.listId}/rows?limit=50`, `/api/imports/${watched.runId}`, "/api/credits"]) {
            statuses.push((yield* call(() => api.request("GET", path, { token: alice.token }))).status)
          }
          yield* Effect.sleep("50 millis")
        }
      }).pipe(Effect.forkChild)

      const started = yield* Effect.forEach(inlineProjections, (p) => support("POST", `/api/support/projections/${p.name}/rebuild`))
      expect(started.map((r) => r.status)).toEqual(inlineProjections.map(() => 202))
      expect(started.map((r) => r.body)).toEqual(inlineProjections.map((p) => ({ name: p.name, version: 2 })))
      const again = yield* support("POST", "/api/support/projections/credits/rebuild")
      expect(again.status).toBe(409)
      expect(again.body.code).toBe("REBUILD_RUNNING")
      const running = (yield* support("GET", "/api/support/projections")).body.projections as Array<any>
      const initialTotals = new Map(running.map((p) => [p.name, p.rebuild?.total ?? 0]))
      expect(running.some((p) => p.status === "rebuilding")).toBe(true)
      const done = yield* eventually(
        support("GET", "/api/support/projections"),
        (r) => r.body.projections.every((p: any) => p.status === "live"),
        { timeoutMs: 90_000, intervalMs: 50 }
      )
      // Switched while the imports were still appending (20 pages at 400 ms each, at the least).
      const atSwitch = yield* Effect.forEach(imports, ({ user, reply }) =>
        call(() => api.request("GET", `/api/imports/${reply.body.runId}`, { token: user.token })))
      expect(atSwitch.map((r) => r.body.status)).toContain("running")
      const ended = yield* Effect.forEach(imports, ({ user, reply }) => awaitImport(api, user.token, reply.body.runId, reply.body.listId))
      yield* Fiber.interrupt(reads)
      expect(done.body.projections.map((p: any) => [p.name, p.version, p.lag, p.rebuild])).toEqual(
        inlineProjections.map((p) => [p.name, 2, 0, null])
      )
      expect(statuses.length).toBeGreaterThan(20)
      expect(statuses.filter((s) => s !== 200)).toEqual([])

      for (const { status } of ended) {
        expect(status.status).toBe("completed")
        yield* expectImportInvariants(status)
      }
      // The rebuilt generation against a fresh replay of the whole log, table by table.
      const rebuilt = yield* dumpProjections
      yield* rebuildProjections(inlineProjections, { batchSize: 100_000 }).pipe(Effect.orDie)
      expect(yield* dumpProjections).toEqual(rebuilt)
      const after = (yield* support("GET", "/api/support/projections")).body.projections as Array<any>
      expect(after.map((p) => p.version)).toEqual(inlineProjections.map(() => 3))
      // The imports appended while it ran: its first count saw fewer events than the log holds now.
      const db = yield* Database
      const handled = inlineProjections.find((p) => p.name === "import-progress")!.handles
      const { rows: [log] } = yield* db.query((q) =>
        sql<{ n: number }>`select count(*)::int as n from events
          where type in (select jsonb_array_elements_text(${JSON.stringify(handled)}::text::jsonb))`.execute(q)
      ).pipe(Effect.orDie)
      expect(initialTotals.get("import-progress")).toBeLessThan(log!.n)
    }), 240_000)
})
