/**
 * The local engine: one import at a time per LinkedIn account without starving other
 * accounts (a run waits for its account before it takes an engine slot), and leases — an
 * engine takes over the runs of one that died, and ends as failed a run that killed its
 * engines too often. Each engine here is started inside the test, over the test's services.
 */
import { expect, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { sql } from "kysely"
import { ServicesLive } from "../../src/app.ts"
import { Database } from "../../src/db/Database.ts"
import { Imports } from "../../src/imports/Imports.ts"
import { LocalEngine, MAX_TAKEOVERS } from "../../src/pipeline/LocalEngine.ts"
import { backend, TestDatabase } from "../support/db.ts"
import { makeUser } from "../support/fixtures.ts"

const config = (env: Record<string, string>) => ConfigProvider.layer(ConfigProvider.fromUnknown({ FAKE_PAGE_LATENCY_MS: "25", ...env }))

const Services = ServicesLive.pipe(Layer.provideMerge(TestDatabase({ max: 10 })), Layer.provide(config({})))

/** Runs `body` while an engine with `env` works in the background. */
const withEngine = <A, E, R>(env: Record<string, string>, body: Effect.Effect<A, E, R>) =>
  Effect.scoped(Effect.andThen(Layer.build(LocalEngine.layer.pipe(Layer.provide(config(env)))), body))

const search = () => `https://www.linkedin.com/sales/search/people?query=(engine-${crypto.randomUUID().slice(0, 8)})`

const importRow = (importId: string) =>
  Effect.flatMap(Database, (db) =>
    db.query((q) => q.selectFrom("imports").selectAll().where("import_id", "=", importId).executeTakeFirstOrThrow())).pipe(Effect.orDie)

const awaitEnded = (importId: string) =>
  Effect.gen(function*() {
    for (let i = 0; i < 600; i++) {
      const row = yield* importRow(importId)
      if (["completed", "failed", "canceled"].includes(row.status)) return row
      yield* Effect.sleep("25 millis")
    }
    throw new Error(`import ${importId} did not end`)
  })

/** Position of the first event of `type` for the import. */
const positionOf = (importId: string, type: string) =>
  Effect.flatMap(Database, (db) =>
    db.query((q) =>
      q.selectFrom("events").select("position").where("correlation_id", "=", importId).where("type", "=", type)
        .orderBy("position").executeTakeFirstOrThrow()
    )).pipe(Effect.map((r) => Number(r.position)), Effect.orDie)

const countOf = (importId: string, type: string) =>
  Effect.flatMap(Database, (db) =>
    db.query((q) =>
      sql<{ n: number }>`select count(*)::int as n from events where correlation_id = ${importId} and type = ${type}`.execute(q)
    )).pipe(Effect.map((r) => r.rows[0]!.n), Effect.orDie)

const start = (userId: string, maxResults: number) =>
  Effect.flatMap(Imports, (imports) => imports.start(userId, { url: search(), maxResults, skipExistingCustomers: true })).pipe(Effect.orDie)

layer(Services, { excludeTestServices: true })(`the local engine (${backend})`, (it) => {
  it.effect("one account's queue of imports does not hold the slots: another account's import starts at once", () =>
    withEngine({ LOCAL_ENGINE_CONCURRENCY: "2" }, Effect.gen(function*() {
      const busy = yield* makeUser({ credits: 1_000 })
      const other = yield* makeUser({ credits: 1_000 })
      const queued = [yield* start(busy.userId, 100), yield* start(busy.userId, 100), yield* start(busy.userId, 100)]
      const latecomer = yield* start(other.userId, 25)
      yield* Effect.forEach([...queued, latecomer], (s) => awaitEnded(s.importId), { discard: true })

      // The other account's import started before the busy account's first import ended...
      expect(yield* positionOf(latecomer.importId, "ImportStarted")).toBeLessThan(yield* positionOf(queued[0]!.importId, "ImportCompleted"))
      // ...while the busy account's imports ran one after another, in order.
      for (const [a, b] of [[queued[0]!, queued[1]!], [queued[1]!, queued[2]!]] as const) {
        expect(yield* positionOf(a.importId, "ImportCompleted")).toBeLessThan(yield* positionOf(b.importId, "ImportStarted"))
      }
    })))

  it.effect("an engine takes over the run of an engine whose lease expired, and the import ends once", () =>
    Effect.gen(function*() {
      const db = yield* Database
      const user = yield* makeUser({ credits: 1_000 })
      // Enqueued while no engine ran here, leased by an engine that has since died.
      const s = yield* start(user.userId, 60)
      yield* db.query((q) =>
        q.updateTable("local_runs").set({ lease_owner: "engine-dead", lease_expires_at: new Date(Date.now() - 1_000) })
          .where("import_id", "=", s.importId).execute()
      ).pipe(Effect.orDie)

      const row = yield* withEngine({ LOCAL_ENGINE_LEASE_MS: "300" }, awaitEnded(s.importId))
      expect(row).toMatchObject({ status: "completed", leads_imported: 60 })
      expect(yield* countOf(s.importId, "CreditsRefunded")).toBe(1)
      const run = yield* db.query((q) => q.selectFrom("local_runs").selectAll().where("import_id", "=", s.importId).executeTakeFirstOrThrow())
        .pipe(Effect.orDie)
      expect(run).toMatchObject({ status: "done", takeovers: 1 })
    }))

  it.effect("a run whose engines died too often is ended as failed and refunded, not taken over again", () =>
    Effect.gen(function*() {
      const db = yield* Database
      const user = yield* makeUser({ credits: 1_000 })
      const s = yield* start(user.userId, 60)
      yield* db.query((q) =>
        q.updateTable("local_runs")
          .set({ lease_owner: "engine-dead", lease_expires_at: new Date(Date.now() - 1_000), takeovers: MAX_TAKEOVERS })
          .where("import_id", "=", s.importId).execute()
      ).pipe(Effect.orDie)

      const row = yield* withEngine({ LOCAL_ENGINE_LEASE_MS: "300" }, awaitEnded(s.importId))
      expect(row.status).toBe("failed")
      expect(row.error).toMatch(/stopped 4 times/)
      expect(row).toMatchObject({ leads_imported: 0, credits_refunded: 60 })
      expect(yield* countOf(s.importId, "PageFetched")).toBe(0)
    }))
})
