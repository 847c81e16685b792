/**
 * `node bench/pipeline-profile.ts`: where an import's page goes — statements, transactions
 * and time per stage — for one import and for many at once (BENCH_CONCURRENT, default 20),
 * each of 2,500 leads (100 pages) through the real stages, fake source without latency.
 * Next to it, in the same run, two floors: the same number of list rows inserted 2,500 a
 * statement, and the same pages' writes by a bare program (bench/pageFloor.ts, with its CPU). With DATABASE_URL a scratch PostgreSQL database is used (pool
 * DATABASE_POOL_MAX, default 10), else PGlite. `BENCH_ENGINE=1` runs the concurrent imports
 * through the local engine (LOCAL_ENGINE_CONCURRENCY = BENCH_CONCURRENT) instead of calling
 * the orchestrator directly. Figures are printed (stderr), nothing is written.
 *
 * To look inside the database: `BENCH_DB_SET="a = 1;b = 2"` sets parameters on the scratch
 * database before it is used (e.g. `session_preload_libraries = 'auto_explain'` with
 * `auto_explain.log_min_duration = 0`, `auto_explain.log_analyze = on` and
 * `auto_explain.log_nested_statements = on`: every statement's plan and buffers in the server's
 * log), and `BENCH_SETUP_SQL="…;…"` runs statements once it is migrated (to try a schema change
 * before writing its migration). `perf record -g -p <its backends' pids>` works beside it.
 */
import { ConfigProvider, Context, Effect, Layer } from "effect"
import { sql } from "kysely"
import { randomBytes } from "node:crypto"
import postgres from "postgres"
import { ServicesLive } from "../src/app.ts"
import { Accounts } from "../src/accounts/Accounts.ts"
import { Database } from "../src/db/Database.ts"
import { Imports } from "../src/imports/Imports.ts"
import { fakeSearchPeople } from "../src/leads/FakeLeadSource.ts"
import { ImportStages } from "../src/pipeline/ImportStages.ts"
import { LocalEngine, localStageRunner } from "../src/pipeline/LocalEngine.ts"
import { runImport, type StageRunner } from "../src/pipeline/runImport.ts"
import { cpuMsOf } from "./lib.ts"
import { pageFloor, type Query, queryThrough, templatePages } from "./pageFloor.ts"

const CONCURRENT = Number(process.env.BENCH_CONCURRENT ?? 20)
const POOL = Number(process.env.DATABASE_POOL_MAX ?? 10)
const LEADS = 2500
const PAGES = LEADS / 25

/** The stage a statement is sent for (set around each stage call). */
const CurrentStage = Context.Reference<string>("bench/CurrentStage", { defaultValue: () => "other" })

interface Tally {
  statements: number
  transactions: number
  calls: number
  ms: number
}
const tallies = new Map<string, Tally>()
const tally = (stage: string) => {
  let t = tallies.get(stage)
  if (!t) tallies.set(stage, t = { statements: 0, transactions: 0, calls: 0, ms: 0 })
  return t
}

/** The database, counting statements and (outermost) transactions per stage. */
const counting = (inner: Layer.Layer<Database, unknown>) =>
  Layer.effect(
    Database,
    Effect.map(Database, (db) =>
      Database.of({
        ...db,
        query: (f) =>
          Effect.flatMap(CurrentStage, (s) =>
            Effect.suspend(() => {
              const n = tally(s).statements++
              const started = performance.now()
              return Effect.tap(db.query(f), () =>
                Effect.sync(() => {
                  if (!process.env.BENCH_DETAIL) return
                  const k = `${s} #${n - (statementsAtCall.get(s) ?? 0)}`
                  const d = detail.get(k) ?? { n: 0, ms: 0 }
                  d.n++
                  d.ms += performance.now() - started
                  detail.set(k, d)
                }))
            })),
        transaction: (effect) =>
          Effect.flatMap(db.inTransaction, (inside) =>
            inside ? db.transaction(effect) : Effect.flatMap(CurrentStage, (s) =>
              Effect.andThen(Effect.sync(() => tally(s).transactions++), db.transaction(effect))))
      }))
  ).pipe(Layer.provide(inner))

/** BENCH_DETAIL: mean wall ms of each statement of a stage call, by its place in the call. */
const detail = new Map<string, { n: number; ms: number }>()
const statementsAtCall = new Map<string, number>()

const timed = <A, E, R>(stage: string, effect: Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    statementsAtCall.set(stage, tally(stage).statements)
    const started = performance.now()
    return effect.pipe(
      Effect.provideService(CurrentStage, stage),
      Effect.tap(() =>
        Effect.sync(() => {
          const t = tally(stage)
          t.calls++
          t.ms += performance.now() - started
        })
      )
    )
  })

/**
 * CPU time so far, in ms: this process's, and the database's — the server backends of this
 * database on PostgreSQL (from /proc: same machine), none on PGlite (it runs in this process).
 */
const cpu = Effect.gen(function*() {
  const db = yield* Database
  const node = (process.cpuUsage().user + process.cpuUsage().system) / 1000
  if (db.backend === "pglite") return { node, database: 0 }
  const { rows } = yield* db.query((q) =>
    sql<{ pid: number }>`select pid from pg_stat_activity where datname = current_database()`.execute(q)
  )
  return { node, database: cpuMsOf(rows.map((r) => r.pid)) }
})
let cpuAtStart = { node: 0, database: 0 }
let cpuUsed = { node: 0, database: 0 }

const url = () => `https://www.linkedin.com/sales/search/people?query=(profile-${randomBytes(4).toString("hex")})`

const newImport = Effect.gen(function*() {
  const accounts = yield* Accounts
  const imports = yield* Imports
  const user = yield* accounts.createUser({ email: `p-${randomBytes(6).toString("hex")}@example.com`, credits: LEADS, salesNavigator: true })
  return yield* imports.start(user.userId, { url: url(), maxResults: LEADS, skipExistingCustomers: true })
})

/** An import the last run of `direct` made: the page floor's template. */
let lastImportId = ""

/** `count` imports at once through the orchestrator; leads imported per second. */
const direct = (count: number) =>
  Effect.gen(function*() {
    const stages = yield* ImportStages
    const inner = localStageRunner(stages)
    const runner: StageRunner = {
      fetchPage: (i, p) => timed("fetch-page", inner.fetchPage(i, p)),
      dedupe: (i, p) => timed("dedupe", inner.dedupe(i, p)),
      persistBatch: (i, p, r) => timed("persist-batch", inner.persistBatch(i, p, r)),
      refundUnusedCredits: (i, b) => timed("refund", inner.refundUnusedCredits(i, b))
    }
    const runs = yield* Effect.forEach(Array.from({ length: count }), () => newImport)
    lastImportId = runs[0]!.importId
    tallies.clear()
    cpuAtStart = yield* cpu
    const started = performance.now()
    const summaries = yield* Effect.forEach(runs, (run) => timed("orchestrator", runImport(run.importId, run.runId, () => runner)), {
      concurrency: count
    })
    const seconds = (performance.now() - started) / 1000
    const now = yield* cpu
    cpuUsed = { node: now.node - cpuAtStart.node, database: now.database - cpuAtStart.database }
    return summaries.reduce((n, s) => n + s.imported, 0) / seconds
  })

/** `count` imports at once through the local engine (LOCAL_ENGINE_CONCURRENCY = count). */
const viaEngine = (count: number) =>
  Effect.gen(function*() {
    const db = yield* Database
    const runs = yield* Effect.forEach(Array.from({ length: count }), () => newImport)
    const ids = runs.map((r) => r.importId)
    tallies.clear()
    cpuAtStart = yield* cpu
    const started = performance.now()
    yield* Effect.scoped(Effect.gen(function*() {
      yield* Layer.build(LocalEngine.layer)
      while (true) {
        const { rows } = yield* db.query((q) =>
          sql<{ n: number }>`select count(*)::int as n from imports where import_id = any(${`{${ids.join(",")}}`}::uuid[])
            and status in ('completed', 'failed', 'canceled')`.execute(q)
        )
        if (rows[0]!.n === count) break
        yield* Effect.sleep("20 millis")
      }
    }))
    const seconds = (performance.now() - started) / 1000
    const now = yield* cpu
    cpuUsed = { node: now.node - cpuAtStart.node, database: now.database - cpuAtStart.database }
    const { rows } = yield* db.query((q) =>
      sql<{ n: number }>`select coalesce(sum(leads_imported), 0)::int as n from imports where import_id = any(${`{${ids.join(",")}}`}::uuid[])`
        .execute(q)
    )
    return rows[0]!.n / seconds
  })

/** The floor: `count` × 2,500 list rows, 2,500 a statement, one connection. */
const floor = (count: number) =>
  Effect.gen(function*() {
    const db = yield* Database
    const people = fakeSearchPeople(url())
    const listId = crypto.randomUUID()
    const userId = crypto.randomUUID()
    const before = yield* cpu
    const started = performance.now()
    for (let i = 0; i < count; i++) {
      const importId = crypto.randomUUID()
      const rows = people.map((lead) => ({ id: crypto.randomUUID(), lead }))
      yield* db.query((q) =>
        sql`insert into list_rows (id, list_id, user_id, import_id, run_id, linkedin_url, sales_nav_url, profile, added_at)
            select (r->>'id')::uuid, ${listId}::uuid, ${userId}::uuid, ${importId}::uuid, 'run_floor', r->'lead'->>'linkedinUrl',
                   r->'lead'->>'salesNavUrl', r->'lead', now()
            from jsonb_array_elements(${JSON.stringify(rows)}::text::jsonb) r`.execute(q)
      )
    }
    const seconds = (performance.now() - started) / 1000
    const after = yield* cpu
    const pages = count * people.length / 25
    console.error(`floor CPU per 25 rows: ${((after.node - before.node + after.database - before.database) / pages).toFixed(2)} ms`)
    return (count * people.length) / seconds
  })

/**
 * The page floor (bench/pageFloor.ts): the pages of the last import written again `count` times at
 * once by a bare program (a postgres.js pool of POOL on PostgreSQL, PGlite's connection), five
 * statements a page; leads per second and its CPU per page.
 */
const samePages = (count: number) =>
  Effect.gen(function*() {
    const db = yield* Database
    const bare = scratchUrl === undefined ? undefined : postgres(scratchUrl, { max: POOL, onnotice: () => {} })
    const query: Query = bare
      ? (text, params) => bare.unsafe(text, params as Array<any>, { prepare: true })
      : queryThrough(db)
    const template = yield* Effect.promise(() => templatePages(query, lastImportId))
    // Every connection of the pool open before the CPU is read: their backends are counted.
    yield* Effect.promise(() => Promise.all(Array.from({ length: POOL }, () => query("select pg_sleep(0.01)", []))))
    const before = yield* cpu
    const result = yield* Effect.promise(() => pageFloor(query, template, count))
    const after = yield* cpu
    yield* Effect.promise(async () => bare?.end())
    const pages = count * template.length
    console.error(
      `page floor: ${Math.round(result.leadsPerSecond)} leads/s; CPU per page: ${((after.node - before.node) / pages).toFixed(2)} ms client + ${
        ((after.database - before.database) / pages).toFixed(2)
      } ms database`
    )
    return result.leadsPerSecond
  })

const report = (label: string, leadsPerSecond: number, imports: number) => {
  const pages = imports * PAGES
  console.error(`\n${label}: ${Math.round(leadsPerSecond)} leads/s (${(1000 / (leadsPerSecond / 25)).toFixed(2)} ms wall per page)`)
  console.error(
    `  CPU per page: ${(cpuUsed.node / pages).toFixed(2)} ms service + ${(cpuUsed.database / pages).toFixed(2)} ms database = ${
      ((cpuUsed.node + cpuUsed.database) / pages).toFixed(2)
    } ms (the goal: 2.5)`
  )
  let statements = 0
  let transactions = 0
  for (const [stage, t] of tallies) {
    statements += t.statements
    transactions += t.transactions
    if (stage === "orchestrator") continue
    console.error(
      `  ${stage.padEnd(14)} ${(t.statements / pages).toFixed(2).padStart(6)} statements/page  ${
        (t.transactions / pages).toFixed(2).padStart(5)
      } transactions/page  ${(t.calls ? t.ms / t.calls : 0).toFixed(2).padStart(7)} ms/call`
    )
  }
  console.error(`  orchestrator   ${(tallies.get("orchestrator")?.statements ?? 0) / imports} statements/import (loadState, start, finish)`)
  console.error(`  all            ${(statements / pages).toFixed(2)} statements/page, ${(transactions / pages).toFixed(2)} transactions/page (+1 round trip each: COMMIT; BEGIN goes with the first statement)`)
}

const measureOn = (backend: string, database: Layer.Layer<Database, unknown>) =>
  Effect.gen(function*() {
    console.error(`== ${backend} (pool ${POOL}) ==`)
    if (process.env.BENCH_SETUP_SQL) {
      const db = yield* Database
      for (const statement of process.env.BENCH_SETUP_SQL.split(";")) yield* db.query((q) => sql.raw(statement).execute(q))
    }
    yield* direct(1) // warm-up
    detail.clear()
    report("1 import", yield* direct(1), 1)
    for (const [k, d] of [...detail].sort()) if (d.n >= 50) console.error(`  ${k}: ${(d.ms / d.n).toFixed(2)} ms`)
    const many = process.env.BENCH_ENGINE ? yield* viaEngine(CONCURRENT) : yield* direct(CONCURRENT)
    report(`${CONCURRENT} concurrent imports${process.env.BENCH_ENGINE ? " (local engine)" : ""}`, many, CONCURRENT)
    const f = yield* floor(CONCURRENT)
    console.error(`floor (same run): ${Math.round(f)} rows/s set-based; pipeline at ${(100 * many / f).toFixed(1)} % of it`)
    const pages = yield* samePages(CONCURRENT)
    console.error(`pipeline at ${(100 * many / pages).toFixed(1)} % of the page floor`)
  }).pipe(
    Effect.provide(ServicesLive.pipe(
      Layer.provideMerge(counting(database)),
      Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({
        FAKE_PAGE_LATENCY_MS: "0",
        TASK_ENGINE: "local",
        LOCAL_ENGINE_CONCURRENCY: String(CONCURRENT)
      })))
    ))
  )

/** The scratch PostgreSQL database's URL (the page floor's bare pool connects to it). */
let scratchUrl: string | undefined

const scratchPostgres = (url: string) =>
  Layer.unwrap(Effect.gen(function*() {
    const name = `sni_profile_${randomBytes(4).toString("hex")}`
    const admin = new URL(url)
    admin.pathname = "/postgres"
    const target = new URL(url)
    target.pathname = `/${name}`
    const run = (statement: string) =>
      Effect.promise(async () => {
        const a = postgres(admin.toString(), { max: 1, onnotice: () => {} })
        await a.unsafe(statement)
        await a.end()
      })
    yield* Effect.acquireRelease(run(`create database ${name}`), () => run(`drop database if exists ${name} with (force)`))
    for (const setting of process.env.BENCH_DB_SET?.split(";") ?? []) yield* run(`alter database ${name} set ${setting}`)
    scratchUrl = target.toString()
    return Database.layerPostgres(target.toString(), { max: POOL })
  }))

const main = process.env.DATABASE_URL
  ? measureOn("PostgreSQL", scratchPostgres(process.env.DATABASE_URL))
  : measureOn("PGlite", Database.layerPGlite())

Effect.runPromise(Effect.scoped(main)).catch((e) => {
  console.error(e)
  process.exit(1)
})
