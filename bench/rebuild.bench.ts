/**
 * `npm run bench:rebuild`: how fast a blue/green rebuild replays the log, per projection.
 *
 * The log: a few real imports of 2,500 leads through the pipeline (every event type, real
 * sizes), cloned with fresh ids until it holds BENCH_REBUILD_EVENTS events (default 1,000,000).
 * Then each projection is rebuilt alone, in batches of REBUILD_BATCH_SIZE (default 10,000):
 * events of its types replayed per second, from the first step to the switch. Beside each, in
 * the same run: the floor — one plain SELECT of the same events streamed through a cursor
 * (postgres.js on PostgreSQL, the driver parsing every row) — and the replay machinery alone
 * (read, decode, batch, checkpoint; the projection's apply a no-op), and the peak RSS.
 *
 * Runs on PGlite (unless BENCH_REBUILD_PGLITE=0), and on PostgreSQL too when DATABASE_URL is
 * set (a scratch database is created there and dropped). Prints a markdown table.
 */
import { ConfigProvider, Effect, Layer } from "effect"
import { sql } from "kysely"
import { randomBytes } from "node:crypto"
import postgres from "postgres"
import { inlineProjections } from "../projections/index.ts"
import { Accounts } from "../src/accounts/Accounts.ts"
import type { Projection } from "../src/eventstore/Projection.ts"
import { ServicesLive } from "../src/app.ts"
import { Database } from "../src/db/Database.ts"
import { rebuildProjections } from "../src/eventstore/rebuild.ts"
import { Imports } from "../src/imports/Imports.ts"
import { ImportStages } from "../src/pipeline/ImportStages.ts"
import { localStageRunner } from "../src/pipeline/LocalEngine.ts"
import { runImport } from "../src/pipeline/runImport.ts"

const TARGET = Number(process.env.BENCH_REBUILD_EVENTS ?? 1_000_000)
const BATCH = Number(process.env.REBUILD_BATCH_SIZE ?? 10_000)
const TEMPLATE_IMPORTS = 4

const UUID_SQL = "[0-9a-f]{8}(-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
const RUN_SQL = "run_[A-Za-z0-9]{8}"

interface StoredRow {
  readonly position: number
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
    sql<StoredRow>`select position, stream_id, version, type, schema_version, data::text as data, metadata::text as metadata,
        correlation_id, causation_id, user_id from events order by position`.execute(q)
  )
  return rows
})

/**
 * The template again, `copies` times in one statement, each copy under fresh ids: in every uuid
 * and run id (columns and event data alike) the first 8 hex digits become the copy's number, so
 * ids stay consistent within a copy and distinct across copies. Done in SQL: nothing of the log
 * passes through this process, whose memory is what the rebuild is measured by.
 */
const remap = (column: string) =>
  sql`regexp_replace(regexp_replace(${sql.raw(column)}, ${UUID_SQL}, p.prefix || ${"\\1"}, 'g'), ${RUN_SQL}, 'run_' || p.prefix, 'g')`

const cloneCopies = (templateEnd: number, from: number, copies: number) =>
  Effect.gen(function*() {
    const db = yield* Database
    const { rows } = yield* db.query((q) =>
      sql<{ n: number }>`with copied as (
          insert into events (event_id, stream_id, version, type, schema_version, data, metadata, correlation_id, causation_id, user_id)
          select gen_random_uuid(), m.stream_id, e.version, e.type, e.schema_version, m.data::jsonb, m.metadata::jsonb,
                 m.correlation_id, m.causation_id, m.user_id
          from generate_series(${from}::int, ${from + copies - 1}::int) k
          cross join events e
          cross join lateral (select lpad(to_hex(k), 8, '0') as prefix) p
          cross join lateral (select
              ${remap("e.stream_id")} as stream_id,
              ${remap("e.data::text")} as data,
              ${remap("e.metadata::text")} as metadata,
              ${remap("e.correlation_id")} as correlation_id,
              ${remap("e.causation_id")} as causation_id,
              ${remap("e.user_id")} as user_id
            ) m
          where e.position <= ${templateEnd}::bigint
          order by k, e.position
          returning 1
        ) select count(*)::int as n from copied`.execute(q)
    )
    return rows[0]!.n
  })

/** Peak RSS (MiB) while `effect` runs, sampled every 50 ms, and at a quarter, half and all of it. */
const withRss = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const samples: Array<number> = []
    const timer = setInterval(() => samples.push(process.memoryUsage().rss), 50)
    const result = yield* Effect.ensuring(effect, Effect.sync(() => clearInterval(timer)))
    samples.push(process.memoryUsage().rss)
    const mib = (bytes: number) => Math.round(bytes / 1024 / 1024)
    const peakUpTo = (fraction: number) => mib(Math.max(...samples.slice(0, Math.max(1, Math.ceil(samples.length * fraction)))))
    return { result, rss: `${peakUpTo(0.25)} / ${peakUpTo(0.5)} / ${peakUpTo(1)}` }
  })

/** The same events as a plain SELECT streamed in pages of 1,000 rows: events/s. The floor. */
const selectFloor = (types: ReadonlyArray<string>, url: string | undefined) =>
  Effect.gen(function*() {
    const started = performance.now()
    let n = 0
    if (url !== undefined) {
      yield* Effect.promise(async () => {
        const client = postgres(url, { max: 1, onnotice: () => {} })
        const cursor = client`select position, transaction_id::text as transaction_id, event_id::text as event_id, stream_id,
            version, type, schema_version, data, metadata, recorded_at
          from events where type in ${client(types as Array<string>)} order by position`.cursor(1000)
        for await (const rows of cursor) n += rows.length
        await client.end()
      })
    } else {
      const db = yield* Database
      for (let after = 0;;) {
        const { rows } = yield* db.query((q) =>
          sql<{ position: number }>`select position, transaction_id::text as transaction_id, event_id::text as event_id, stream_id,
              version, type, schema_version, data, metadata, recorded_at
            from events where type in (select jsonb_array_elements_text(${JSON.stringify(types)}::text::jsonb))
              and position > ${after}::bigint order by position limit 10000`.execute(q)
        )
        n += rows.length
        if (rows.length < 10_000) break
        after = Number(rows[rows.length - 1]!.position)
      }
    }
    return { events: n, perSecond: n / ((performance.now() - started) / 1000) }
  })

/** The projection with a no-op apply, under its own name: what the replay itself costs. */
const machineryOf = (projection: Projection): Projection => ({
  name: `${projection.name}-noop`,
  handles: projection.handles,
  tables: [],
  apply: () => Effect.void
})

const measureOn = (backend: string, database: Layer.Layer<Database, unknown>, url?: string) =>
  Effect.gen(function*() {
    const rows = yield* template
    const templateEnd = Math.max(...rows.map((r) => r.position))
    let events = rows.length
    for (let copy = 1; events < TARGET;) {
      const copies = Math.min(20, Math.ceil((TARGET - events) / rows.length))
      events += yield* cloneCopies(templateEnd, copy, copies)
      copy += copies
      console.error(`${backend}: ${events} events in the log`)
    }
    console.error(`${backend}: ${events} events in the log`)
    const results: Array<string> = []
    let handledAll = 0
    let secondsAll = 0
    const rate = (n: number, seconds: number) => Math.round(n / seconds).toLocaleString("en-US")
    const only = process.env.BENCH_REBUILD_ONLY?.split(",")
    for (const projection of inlineProjections.filter((p) => only === undefined || only.includes(p.name))) {
      let started = performance.now()
      const machinery = yield* withRss(rebuildProjections([machineryOf(projection)], { batchSize: BATCH }))
      const machinerySeconds = (performance.now() - started) / 1000
      started = performance.now()
      const { result: [result], rss } = yield* withRss(rebuildProjections([projection], { batchSize: BATCH }))
      const seconds = (performance.now() - started) / 1000
      // Last: its pages would otherwise weigh on the rebuilds' RSS (V8 keeps what it grew to).
      const floor = yield* selectFloor(projection.handles, url)
      handledAll += result!.events
      secondsAll += seconds
      const perSecond = result!.events / seconds
      const line = `| ${backend} | ${projection.name} | ${result!.events.toLocaleString("en-US")} | ${seconds.toFixed(1)} s | ${
        rate(result!.events, seconds)
      } | ${rate(machinery.result[0]!.events, machinerySeconds)} | ${Math.round(floor.perSecond).toLocaleString("en-US")} | ${
        (100 * perSecond / floor.perSecond).toFixed(0)
      } % | ${rss} / ${machinery.rss.split(" / ")[2]} |`
      console.error(line)
      results.push(line)
    }
    results.push(`| ${backend} | all five, one after the other | ${handledAll.toLocaleString("en-US")} | ${secondsAll.toFixed(1)} s | ${rate(handledAll, secondsAll)} | | | | |`)
    return { events, results }
  }).pipe(
    Effect.provide(ServicesLive.pipe(
      Layer.provideMerge(database),
      Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ FAKE_PAGE_LATENCY_MS: "0", TASK_ENGINE: "local", RECONCILE_INTERVAL_MS: "0" })))
    ))
  )

const scratchPostgres = (url: string) =>
  Effect.gen(function*() {
    const name = `sni_rebuild_bench_${randomBytes(4).toString("hex")}`
    const at = (database: string) => Object.assign(new URL(url), { pathname: `/${database}` }).toString()
    const admin = (statement: string) =>
      Effect.promise(async () => {
        const a = postgres(at("postgres"), { max: 1, onnotice: () => {} })
        await a.unsafe(statement)
        await a.end()
      })
    yield* Effect.acquireRelease(admin(`create database ${name}`), () => admin(`drop database if exists ${name} with (force)`))
    return at(name)
  })

const main = Effect.gen(function*() {
  const runs = process.env.BENCH_REBUILD_PGLITE === "0" ? [] : [yield* measureOn("PGlite", Database.layerPGlite())]
  if (process.env.DATABASE_URL) {
    const url = yield* scratchPostgres(process.env.DATABASE_URL)
    runs.push(yield* measureOn("PostgreSQL", Database.layerPostgres(url, { max: 10 }), url))
  }
  console.log(`\nA log of ${runs.map((r) => `${r.events.toLocaleString("en-US")}`).join(" / ")} events, batches of ${BATCH}:\n`)
  console.log(
    "| backend | projection | events of its types | rebuild, first step to switch | events/s | replay alone (no-op apply), events/s | " +
      "plain SELECT of them, events/s | rebuild / SELECT | peak RSS MiB at ¼ / ½ / all (no-op: all) |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  )
  for (const run of runs) for (const line of run.results) console.log(line)
})

Effect.runPromise(Effect.scoped(main)).catch((e) => {
  console.error(e)
  process.exit(1)
})
