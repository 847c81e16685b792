/**
 * The local engine: one import at a time per LinkedIn account without starving other
 * accounts (a run waits for its account before it takes an engine slot), and leases — an
 * engine takes over the runs of one that died, gives its runs back as it stops, and ends as
 * failed a run that killed its engines too often. A claim finds its runs through the primary
 * key, however many are pending. Each engine here is started inside the test, over the test's
 * services.
 */
import { expect, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Ref } from "effect"
import { sql } from "kysely"
import { ServicesLive } from "../../src/app.ts"
import { Database } from "../../src/db/Database.ts"
import { Imports } from "../../src/imports/Imports.ts"
import { claimStatement, LocalEngine, LocalRunSignal, MAX_TAKEOVERS } from "../../src/pipeline/LocalEngine.ts"
import { backend, TestDatabase } from "../support/db.ts"
import { makeUser } from "../support/fixtures.ts"
import { nodesOf, preparedPlan } from "../support/plans.ts"

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

  it.effect("a run enqueued while an engine runs in the process is born leased to it; with none, it is born free for any engine", () =>
    Effect.gen(function*() {
      const db = yield* Database
      const signal = yield* LocalRunSignal
      const user = yield* makeUser({ credits: 1_000 })
      const runOf = (importId: string) =>
        db.query((q) =>
          q.selectFrom("local_runs").select(["lease_owner", sql<boolean>`lease_expires_at > now()`.as("leased")])
            .where("import_id", "=", importId).executeTakeFirstOrThrow()
        ).pipe(Effect.orDie)

      const free = yield* start(user.userId, 25)
      expect(yield* runOf(free.importId)).toEqual({ lease_owner: null, leased: null })

      const { born, owner } = yield* withEngine(
        { LOCAL_ENGINE_LEASE_MS: "60000" },
        Effect.gen(function*() {
          const owner = yield* Ref.get(signal.engine)
          const born = yield* start(user.userId, 25)
          const run = yield* runOf(born.importId)
          yield* awaitEnded(born.importId)
          return { born: run, owner }
        })
      )
      expect(owner).toMatch(/^engine-/)
      expect(born).toEqual({ lease_owner: owner, leased: true })
      // Stopped, the engine no longer takes the runs enqueued here.
      expect(yield* Ref.get(signal.engine)).toBeUndefined()
      // The free run is anyone's once it has waited a lease (its enqueuer may have died).
      yield* withEngine({ LOCAL_ENGINE_LEASE_MS: "300" }, awaitEnded(free.importId))
    }))

  it.effect("an engine that stops gives its runs back at once, takes none of them back, and the next engine ends each import once", () =>
    Effect.gen(function*() {
      const db = yield* Database
      const user = yield* makeUser({ credits: 1_000 })
      const runsOf = (importIds: ReadonlyArray<string>) =>
        db.query((q) =>
          q.selectFrom("local_runs").select([
            "status",
            "lease_owner",
            sql<boolean>`not exists (select 1 from local_engines e where e.owner = local_runs.lease_owner and e.alive_until > now())`
              .as("given_back")
          ])
            .where("import_id", "in", importIds).execute()
        ).pipe(Effect.orDie)
      // One account, one slot: the first import runs, the other three wait for it. A short lease
      // has the stopping engine look for abandoned runs every 100 ms.
      const started = yield* withEngine(
        { LOCAL_ENGINE_LEASE_MS: "300", LOCAL_ENGINE_CONCURRENCY: "1" },
        Effect.gen(function*() {
          const started = yield* Effect.forEach([1, 2, 3, 4], () => start(user.userId, 100))
          const ids = started.map((s) => s.importId)
          for (let i = 0; i < 400; i++) {
            const runs = yield* runsOf(ids)
            if (runs.every((r) => r.lease_owner !== null) && (yield* countOf(ids[0]!, "PageFetched")) > 0) return started
            yield* Effect.sleep("10 millis")
          }
          throw new Error("the engine did not take the runs")
        })
      )
      const ids = started.map((s) => s.importId)
      const stopped = yield* runsOf(ids)
      expect(stopped).toHaveLength(4)
      expect(stopped.filter((r) => r.status === "pending").length).toBeGreaterThanOrEqual(3)
      for (const run of stopped.filter((r) => r.status === "pending")) expect(run.given_back).toBe(true)

      // The next engine (its leases last 15 s) takes them without waiting for a lease to expire.
      const ended = yield* withEngine({}, Effect.forEach(ids, awaitEnded))
      for (const row of ended) expect(row).toMatchObject({ status: "completed", leads_imported: 100 })
      for (const id of ids) {
        expect(yield* countOf(id, "ImportCompleted")).toBe(1)
        expect(yield* countOf(id, "CreditsRefunded")).toBeLessThanOrEqual(1)
      }
    }))

  it.effect("a live engine's runs stay its own however long they wait (its beat alone keeps them); once it stops, another engine takes them", () =>
    Effect.gen(function*() {
      const db = yield* Database
      const signal = yield* LocalRunSignal
      const user = yield* makeUser({ credits: 5_000 })
      const runsOf = (importIds: ReadonlyArray<string>) =>
        db.query((q) =>
          q.selectFrom("local_runs").select(["status", "lease_owner", "takeovers"]).where("import_id", "in", importIds).execute()
        ).pipe(Effect.orDie)
      // One account, one slot, short leases (a beat and a look for abandoned runs every 100 ms).
      const fast = { LOCAL_ENGINE_LEASE_MS: "300", LOCAL_ENGINE_CONCURRENCY: "1" }
      const { ids, holder } = yield* withEngine(
        fast,
        Effect.gen(function*() {
          const holder = yield* Ref.get(signal.engine)
          const ids = (yield* Effect.forEach([1, 2, 3], () => start(user.userId, 1_000))).map((s) => s.importId)
          // Another engine on the same database looks for abandoned runs for three leases and more
          // (on PostgreSQL: on PGlite one process owns the database, and an engine takes every
          // pending run as it starts)...
          yield* db.backend === "postgres" ? withEngine(fast, Effect.sleep("1 second")) : Effect.sleep("1 second")
          // ...and took none: the first import runs, the others wait for it, all held by the first engine.
          const held = yield* runsOf(ids)
          expect(held.filter((r) => r.status === "pending").length).toBeGreaterThanOrEqual(2)
          for (const run of held.filter((r) => r.status === "pending")) expect(run).toMatchObject({ lease_owner: holder, takeovers: 0 })
          return { ids, holder }
        })
      )
      expect(holder).toMatch(/^engine-/)
      const ended = yield* withEngine({}, Effect.forEach(ids, awaitEnded))
      for (const row of ended) expect(row).toMatchObject({ status: "completed", leads_imported: 1_000 })
      for (const id of ids) expect(yield* countOf(id, "ImportCompleted")).toBe(1)
    }))

  it.effect("a claim finds the signalled runs through the primary key, however many runs are pending", () =>
    Effect.gen(function*() {
      const db = yield* Database
      // A burst of 5,000 queued runs (another engine's), in a table never analyzed.
      yield* db.query((q) =>
        sql`insert into local_runs (run_id, import_id, account_id, status, lease_owner, lease_expires_at)
            select 'run_burst_' || i, gen_random_uuid(), gen_random_uuid(), 'pending', 'engine-elsewhere', now() + interval '1 hour'
            from generate_series(1, 5000) as i`.execute(q)
      ).pipe(Effect.orDie)
      const plans = Effect.forEach([1, 50], (n) => {
        const runIds = Array.from({ length: n }, (_, i) => `run_burst_${i * 97 + 1}`)
        const statement = claimStatement({ runIds }, "engine-here", 15_000).compile(db.kysely)
        // As the engine runs it: planned for these values.
        return Effect.promise(() => preparedPlan(db.kysely, statement, "custom")).pipe(Effect.map(nodesOf))
      })
      const nodes = (yield* plans.pipe(
        Effect.ensuring(db.query((q) => q.deleteFrom("local_runs").where("run_id", "like", "run_burst_%").execute()).pipe(Effect.orDie))
      )).flat()
      const onRuns = nodes.filter((n) => n["Relation Name"] === "local_runs" || n["Index Name"]?.startsWith("local_runs"))
      expect(onRuns.filter((n) => n["Node Type"] === "Seq Scan")).toEqual([])
      expect(new Set(onRuns.flatMap((n) => n["Index Name"] ?? []))).toEqual(new Set(["local_runs_pkey"]))
    }))

  it.effect("the sweep for abandoned runs, over 30,000 queued runs of a live engine (analyzed), is costed past jit_above_cost and still not JIT-compiled", () =>
    Effect.gen(function*() {
      const db = yield* Database
      yield* db.query((q) =>
        sql`insert into local_engines (owner, alive_until) values ('engine-busy', now() + interval '1 hour')`.execute(q)
      ).pipe(Effect.orDie)
      yield* db.query((q) =>
        sql`insert into local_runs (run_id, import_id, account_id, status, lease_owner, lease_expires_at)
            select 'run_backlog_' || i, gen_random_uuid(), gen_random_uuid(), 'pending', 'engine-busy', 'infinity'
            from generate_series(1, 30000) as i`.execute(q)
      ).pipe(Effect.orDie)
      const explained = db.query(async (q) => {
        await sql`analyze local_runs`.execute(q)
        const { rows } = await sql<{ "QUERY PLAN": [{ Plan: { "Total Cost": number }; JIT?: unknown }] }>`
          explain (format json) ${claimStatement("abandoned", "engine-here", 15_000)}`.execute(q)
        const threshold = await sql<{ cost: string }>`select current_setting('jit_above_cost') as cost`.execute(q)
        return { plan: rows[0]!["QUERY PLAN"][0], threshold: Number(threshold.rows[0]!.cost) }
      }).pipe(Effect.orDie)
      const { plan, threshold } = yield* explained.pipe(Effect.ensuring(db.query(async (q) => {
        await q.deleteFrom("local_runs").where("run_id", "like", "run_backlog_%").execute()
        await sql`delete from local_engines where owner = 'engine-busy'`.execute(q)
      }).pipe(Effect.orDie)))
      // PostgreSQL's default would compile it on every sweep (~200 ms at this size, against ~10 ms
      // to run it); the service's connections have JIT off (src/db/Database.ts).
      expect(plan.Plan["Total Cost"]).toBeGreaterThan(threshold)
      expect(plan.JIT).toBeUndefined()
    }))
})
