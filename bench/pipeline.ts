/**
 * Section `pipeline`: 20 imports at once, each of 2,500 leads (--quick: 250), through the real
 * stages (fetch, dedupe, persist with every inline projection, charges, refund), driven by
 * runImport with the local stage runner — what the local engine does with a concurrency of 20 —
 * from a fake source without latency. The service's default pool (10 connections).
 * Floor, same run: set-based INSERTs of as many lead rows (the same fake leads), 2,500 a
 * statement, into a table shaped like list_rows, on one connection; and the page floor (pageFloor.ts).
 * The imports and the page floor take turns (imports, floor, floor, imports), each with the CPU a
 * page cost: this process's, and on PostgreSQL the database backends' (from /proc).
 * On PostgreSQL (DATABASE_URL) and on PGlite (one connection for everything).
 */
import { Effect } from "effect"
import { sql } from "kysely"
import { randomBytes } from "node:crypto"
import { Accounts } from "../src/accounts/Accounts.ts"
import { Database } from "../src/db/Database.ts"
import { Imports } from "../src/imports/Imports.ts"
import { fakeSearchPeople } from "../src/leads/FakeLeadSource.ts"
import { ImportStages } from "../src/pipeline/ImportStages.ts"
import { localStageRunner } from "../src/pipeline/LocalEngine.ts"
import { runImport } from "../src/pipeline/runImport.ts"
import { floorPGlite, floorPostgres, type FloorSql } from "./floor.ts"
import { alternating, type Backend, cpuDuring, fmt, type Options, pct, type Row, seconds, serviceEnv, servicesRuntime, spread, withScratch } from "./lib.ts"
import { pageFloor, type Query, queryThrough, templatePages } from "./pageFloor.ts"

const IMPORTS = 20
/** The service's default pool, and the page floor's. */
const POOL = 10
const PAGE = 25

export const searchUrl = (label: string) =>
  `https://www.linkedin.com/sales/search/people?query=(${label}-${randomBytes(4).toString("hex")})`

/** `count` users, one import each of `leads` leads, started (recorded, not run: no engine here). */
const startImports = (count: number, leads: number) =>
  Effect.gen(function*() {
    const accounts = yield* Accounts
    const imports = yield* Imports
    return yield* Effect.forEach(Array.from({ length: count }), () =>
      Effect.gen(function*() {
        const user = yield* accounts.createUser({ email: `pipe-${randomBytes(6).toString("hex")}@example.com`, credits: leads, salesNavigator: true })
        return yield* imports.start(user.userId, { url: searchUrl("pipe"), maxResults: leads, skipExistingCustomers: true })
      }))
  })

/** Runs the imports all at once through the real stages; leads imported and seconds. */
const runAll = (runs: ReadonlyArray<{ readonly importId: string; readonly runId: string }>) =>
  Effect.gen(function*() {
    const runner = localStageRunner(yield* ImportStages)
    const started = performance.now()
    const summaries = yield* Effect.forEach(runs, (run) => runImport(run.importId, run.runId, () => runner), { concurrency: "unbounded" })
    return { imported: summaries.reduce((a, s) => a + s.imported, 0), seconds: seconds(started) }
  })

export const FLOOR_ROWS_TABLE = `create table floor_rows (
  id uuid primary key, seq bigint generated always as identity, list_id uuid not null, user_id uuid not null,
  import_id uuid not null, run_id text not null, linkedin_url text, sales_nav_url text, profile jsonb not null,
  added_at timestamptz not null)`
export const FLOOR_ROWS_INSERT = `insert into floor_rows (id, list_id, user_id, import_id, run_id, linkedin_url, sales_nav_url, profile, added_at)
  select gen_random_uuid(), $1::uuid, $2::uuid, $3::uuid, 'run_floor', r->>'linkedinUrl', r->>'salesNavUrl', r, now()
  from jsonb_array_elements($4::text::jsonb) r`

/** Real imports of these sizes, run all at once to the end (a realistic log: rebuild's template). */
export const runTemplateImports = (sizes: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    const accounts = yield* Accounts
    const imports = yield* Imports
    const runs = yield* Effect.forEach(sizes, (leads) =>
      Effect.gen(function*() {
        const user = yield* accounts.createUser({ email: `tpl-${randomBytes(6).toString("hex")}@example.com`, credits: leads, salesNavigator: true })
        return yield* imports.start(user.userId, { url: searchUrl("tpl"), maxResults: leads, skipExistingCustomers: true })
      }))
    return yield* runAll(runs)
  })

/** The floor: `total` lead rows, 2,500 a statement; rows per second. */
const floorInserts = async (db: FloorSql, total: number) => {
  await db.query(FLOOR_ROWS_TABLE)
  await db.query(`create index floor_rows_by_list on floor_rows (list_id, seq)`)
  const batches: Array<string> = []
  for (let n = 0; n < total; n += 2500) batches.push(JSON.stringify(fakeSearchPeople(searchUrl("floor")).slice(0, Math.min(2500, total - n))))
  const started = performance.now()
  for (const leads of batches) await db.query(FLOOR_ROWS_INSERT, [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID(), leads])
  return total / seconds(started)
}

/** What one turn of the imports, or of the page floor, did: leads, seconds, the CPU and the WAL it took. */
interface Turn {
  readonly leads: number
  readonly seconds: number
  readonly processMs: number
  readonly databaseMs: number
  readonly walBytes: number
}

const sum = (turns: ReadonlyArray<Turn>, f: (t: Turn) => number) => turns.reduce((n, t) => n + f(t), 0)

const measure = async (backend: Backend, options: Options, serviceUrl: string | undefined, floorUrl: string | undefined) => {
  const leads = options.quick ? 250 : 2500
  // The imports and the page floor take turns (imports, floor, floor, imports): a neighbour that
  // slows the machine for a while slows both alike. One turn each for the full run on PGlite
  // (its 50,000 leads take minutes there).
  const turns = backend === "PGlite" && !options.quick ? 1 : 2
  const runtime = servicesRuntime(serviceEnv(serviceUrl, { FAKE_PAGE_LATENCY_MS: "0" }))
  try {
    // Small imports first, as many at once as the timed ones (so every connection of the pool has
    // prepared and planned its statements): nothing is timed with a cold JIT, cold caches or plans.
    await runtime.runPromise(Effect.flatMap(startImports(IMPORTS, 100), runAll))
    if (serviceUrl) await runtime.runPromise(everyConnectionOpen)
    const floorDb = floorUrl ? floorPostgres(floorUrl, 1) : await floorPGlite()
    const floor = await floorInserts(floorDb, IMPORTS * leads).finally(() => floorDb.close())
    // The page floor writes what the imports wrote, page by page, in the imports' own database: on
    // PostgreSQL through a bare pool as large as the service's, on PGlite through its one connection.
    const pages = await pageQuery(runtime, serviceUrl)
    let template: Awaited<ReturnType<typeof templatePages>> | undefined
    // CPU as well as time: on a machine shared with neighbours, where each page's CPU goes (the
    // service's process, the database's backends) moves less than the rate does.
    const importsTurn = async (): Promise<Turn> => {
      const runs = await runtime.runPromise(startImports(IMPORTS, leads))
      const { result, processMs, databaseMs, walBytes } = await cpuDuring(serviceUrl, () => runtime.runPromise(runAll(runs)))
      template ??= await templatePages(pages.query, runs[0]!.importId)
      return { leads: result.imported, seconds: result.seconds, processMs, databaseMs, walBytes }
    }
    const floorTurn = async (): Promise<Turn> => {
      const { result, processMs, databaseMs, walBytes } = await cpuDuring(serviceUrl, () => pageFloor(pages.query, template!, IMPORTS))
      return { leads: result.rows, seconds: result.seconds, processMs, databaseMs, walBytes }
    }
    const taken = await alternating(turns, importsTurn, floorTurn).finally(() => pages.close())
    const imported = sum(taken.service, (t) => t.leads)
    const took = sum(taken.service, (t) => t.seconds)
    const rate = imported / took
    const pageRate = sum(taken.floor, (t) => t.leads) / sum(taken.floor, (t) => t.seconds)
    const ratios = taken.service.map((t, i) => t.leads / t.seconds / (taken.floor[i]!.leads / taken.floor[i]!.seconds))
    const perPage = (ts: ReadonlyArray<Turn>, f: (t: Turn) => number) => sum(ts, f) / (sum(ts, (t) => t.leads) / PAGE)
    const cpu = {
      service: perPage(taken.service, (t) => t.processMs),
      database: perPage(taken.service, (t) => t.databaseMs),
      floorClient: perPage(taken.floor, (t) => t.processMs),
      floorDatabase: perPage(taken.floor, (t) => t.databaseMs)
    }
    const walKbPerPage = { service: perPage(taken.service, (t) => t.walBytes) / 1024, floor: perPage(taken.floor, (t) => t.walBytes) / 1024 }
    // PGlite runs in the service's process: its CPU is the process's.
    const cpuOf = (own: number, database: number, who: string, walKb: number) =>
      serviceUrl
        ? `CPU a page ${fmt(own, 2)} + ${fmt(database, 2)} ms (${who} + database), WAL ${fmt(walKb, 1)} KB`
        : `CPU a page ${fmt(own, 2)} ms (${who} with PGlite in it)`
    const row: Row = {
      section: "pipeline",
      backend,
      measure: `${IMPORTS} concurrent imports of ${fmt(leads)} leads${backend === "PGlite" ? " (one connection)" : ` (pool of ${POOL})`}` +
        `, ${turns} turn${turns > 1 ? "s" : ""}`,
      value: `${fmt(rate)} leads/s, ${fmt((1000 * PAGE) / rate, 2)} ms a page of 25 (${fmt(imported)} leads in ${fmt(took, 1)} s); ` +
        cpuOf(cpu.service, cpu.database, "service", walKbPerPage.service),
      floor: `${fmt(floor)} rows/s (set-based INSERT, 2,500 a statement); ${fmt(pageRate)} leads/s (a page's writes, ` +
        `5 statements and 3 commits a page: ${pct(rate, pageRate)} of it${turns > 1 ? `, turns ${spread(ratios)}` : ""}; ${cpuOf(cpu.floorClient, cpu.floorDatabase, "client", walKbPerPage.floor)})`,
      ratio: pct(rate, floor),
      target: backend === "PostgreSQL" ? "≥ 10,000 leads/s (≤ 2.5 ms a page)" : "",
      data: {
        imports: IMPORTS,
        leadsEach: leads,
        turns,
        imported,
        seconds: took,
        leadsPerSecond: rate,
        floorRowsPerSecond: floor,
        pageFloorLeadsPerSecond: pageRate,
        pageFloorRatios: ratios,
        cpuMsPerPage: cpu,
        walKbPerPage: serviceUrl ? walKbPerPage : undefined
      }
    }
    console.error(`pipeline ${backend}: ${row.value} | ${row.floor} | ${row.ratio}`)
    return [row]
  } finally {
    await runtime.dispose()
  }
}

/** Each connection of the service's pool opened (its backend started) before the timed imports. */
const everyConnectionOpen = Effect.gen(function*() {
  const db = yield* Database
  yield* Effect.forEach(Array.from({ length: POOL }), () => db.query((q) => sql`select pg_sleep(0.01)`.execute(q)), { concurrency: "unbounded" })
})

/** Statements on the imports' database: a bare postgres.js pool, or the service's PGlite. */
const pageQuery = async (
  runtime: ReturnType<typeof servicesRuntime>,
  serviceUrl: string | undefined
): Promise<{ readonly query: Query; readonly close: () => Promise<void> }> => {
  if (serviceUrl) {
    const pool = floorPostgres(serviceUrl, POOL)
    // Every connection open before anything is counted: a backend's start is not a page's work.
    await Promise.all(Array.from({ length: POOL }, () => pool.query("select pg_sleep(0.01)")))
    return { query: pool.query, close: () => pool.close() }
  }
  const db = await runtime.runPromise(Effect.gen(function*() {
    return yield* Database
  }))
  return { query: queryThrough(db), close: async () => {} }
}

export const runPipeline = async (options: Options): Promise<Array<Row>> => {
  const rows: Array<Row> = []
  if (options.databaseUrl) {
    const url = options.databaseUrl
    rows.push(...await withScratch(url, "pipe", (s) => withScratch(url, "pipefloor", (f) => measure("PostgreSQL", options, s, f))))
  }
  rows.push(...await measure("PGlite", options, undefined, undefined))
  return rows
}
