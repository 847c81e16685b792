/**
 * `npm run bench:rebuild`: how fast a blue/green rebuild replays the log, per projection.
 *
 * The log: a few real imports of 2,500 leads through the pipeline (every event type, real
 * sizes), cloned with fresh ids until it holds BENCH_REBUILD_EVENTS events (default 100,000).
 * Then each projection is rebuilt alone, in batches of REBUILD_BATCH_SIZE (default 2,000):
 * events of its types replayed per second, from the first step to the switch.
 *
 * Runs on PGlite, and on PostgreSQL too when DATABASE_URL is set (a scratch database is
 * created there and dropped). Prints a markdown table.
 */
import { ConfigProvider, Effect, Layer } from "effect"
import { sql } from "kysely"
import { randomBytes } from "node:crypto"
import postgres from "postgres"
import { inlineProjections } from "../projections/index.ts"
import { Accounts } from "../src/accounts/Accounts.ts"
import { ServicesLive } from "../src/app.ts"
import { Database } from "../src/db/Database.ts"
import { rebuildProjections } from "../src/eventstore/rebuild.ts"
import { Imports } from "../src/imports/Imports.ts"
import { ImportStages } from "../src/pipeline/ImportStages.ts"
import { localStageRunner } from "../src/pipeline/LocalEngine.ts"
import { runImport } from "../src/pipeline/runImport.ts"

const TARGET = Number(process.env.BENCH_REBUILD_EVENTS ?? 100_000)
const BATCH = Number(process.env.REBUILD_BATCH_SIZE ?? 2000)
const TEMPLATE_IMPORTS = 4

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g
const RUN_ID = /run_[A-Za-z0-9]{16,40}/g

interface StoredRow {
  readonly stream_id: string
  readonly version: number
  readonly type: string
  readonly schema_version: number
  readonly data: string
  readonly metadata: string
  readonly correlation_id: string | null
  readonly causation_id: string | null
  readonly user_id: string | null
}

/** Real imports through the pipeline: the template of the log. */
const template = Effect.gen(function*() {
  const accounts = yield* Accounts
  const imports = yield* Imports
  const runner = localStageRunner(yield* ImportStages)
  for (let i = 0; i < TEMPLATE_IMPORTS; i++) {
    const user = yield* accounts.createUser({ email: `rebuild-${randomBytes(6).toString("hex")}@example.com`, credits: 2500, salesNavigator: true })
    const url = `https://www.linkedin.com/sales/search/people?query=(rebuild-bench-${randomBytes(4).toString("hex")})`
    const run = yield* imports.start(user.userId, { url, maxResults: 2500, skipExistingCustomers: true })
    yield* runImport(run.importId, run.runId, () => runner)
  }
  const db = yield* Database
  const { rows } = yield* db.query((q) =>
    sql<StoredRow>`select stream_id, version, type, schema_version, data::text as data, metadata::text as metadata,
        correlation_id, causation_id, user_id from events order by position`.execute(q)
  )
  return rows
})

/** The template again under fresh ids (every uuid and run id mapped consistently), appended as it is. */
const cloneOnce = (rows: ReadonlyArray<StoredRow>) =>
  Effect.gen(function*() {
    const db = yield* Database
    const ids = new Map<string, string>()
    const fresh = (id: string, make: () => string) => {
      const known = ids.get(id)
      if (known !== undefined) return known
      const made = make()
      ids.set(id, made)
      return made
    }
    const map = (text: string | null) =>
      text === null ? null : text
        .replace(UUID, (u) => fresh(u, () => crypto.randomUUID()))
        .replace(RUN_ID, (r) => fresh(r, () => `run_${randomBytes(12).toString("hex")}`))
    const cloned = rows.map((r) => ({
      event_id: crypto.randomUUID(),
      stream_id: map(r.stream_id),
      version: r.version,
      type: r.type,
      schema_version: r.schema_version,
      data: JSON.parse(map(r.data)!),
      metadata: JSON.parse(map(r.metadata)!),
      correlation_id: map(r.correlation_id),
      causation_id: map(r.causation_id),
      user_id: map(r.user_id)
    }))
    for (let i = 0; i < cloned.length; i += 1000) {
      yield* db.query((q) =>
        sql`insert into events (event_id, stream_id, version, type, schema_version, data, metadata, correlation_id, causation_id, user_id)
            select event_id, stream_id, version, type, schema_version, data, metadata, correlation_id, causation_id, user_id
            from jsonb_to_recordset(${JSON.stringify(cloned.slice(i, i + 1000))}::text::jsonb) as r(event_id uuid, stream_id text,
              version int, type text, schema_version int, data jsonb, metadata jsonb, correlation_id text, causation_id text, user_id text)`
          .execute(q)
      )
    }
    return cloned.length
  })

const measureOn = (backend: string, database: Layer.Layer<Database, unknown>) =>
  Effect.gen(function*() {
    const rows = yield* template
    let events = rows.length
    while (events < TARGET) events += yield* cloneOnce(rows)
    console.error(`${backend}: ${events} events in the log`)
    const results: Array<string> = []
    let handledAll = 0
    let secondsAll = 0
    for (const projection of inlineProjections) {
      const started = performance.now()
      const [result] = yield* rebuildProjections([projection], { batchSize: BATCH })
      const seconds = (performance.now() - started) / 1000
      handledAll += result!.events
      secondsAll += seconds
      const line = `| ${backend} | ${projection.name} | ${result!.events.toLocaleString("en-US")} | ${seconds.toFixed(1)} s | ${Math.round(result!.events / seconds).toLocaleString("en-US")} |`
      console.error(line)
      results.push(line)
    }
    results.push(`| ${backend} | all five, one after the other | ${handledAll.toLocaleString("en-US")} | ${secondsAll.toFixed(1)} s | ${Math.round(handledAll / secondsAll).toLocaleString("en-US")} |`)
    return { events, results }
  }).pipe(
    Effect.provide(ServicesLive.pipe(
      Layer.provideMerge(database),
      Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ FAKE_PAGE_LATENCY_MS: "0", TASK_ENGINE: "local", RECONCILE_INTERVAL_MS: "0" })))
    ))
  )

const scratchPostgres = (url: string) =>
  Layer.unwrap(Effect.gen(function*() {
    const name = `sni_rebuild_bench_${randomBytes(4).toString("hex")}`
    const at = (database: string) => Object.assign(new URL(url), { pathname: `/${database}` }).toString()
    const admin = (statement: string) =>
      Effect.promise(async () => {
        const a = postgres(at("postgres"), { max: 1, onnotice: () => {} })
        await a.unsafe(statement)
        await a.end()
      })
    yield* Effect.acquireRelease(admin(`create database ${name}`), () => admin(`drop database if exists ${name} with (force)`))
    return Database.layerPostgres(at(name), { max: 10 })
  }))

const main = Effect.gen(function*() {
  const runs = [yield* measureOn("PGlite", Database.layerPGlite())]
  if (process.env.DATABASE_URL) runs.push(yield* measureOn("PostgreSQL", scratchPostgres(process.env.DATABASE_URL)))
  console.log(`\nA log of ${runs.map((r) => `${r.events.toLocaleString("en-US")}`).join(" / ")} events, batches of ${BATCH}:\n`)
  console.log("| backend | projection | events of its types | rebuild, first step to switch | events/s |\n| --- | --- | --- | --- | --- |")
  for (const run of runs) for (const line of run.results) console.log(line)
})

Effect.runPromise(Effect.scoped(main)).catch((e) => {
  console.error(e)
  process.exit(1)
})
