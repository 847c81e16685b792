/**
 * Section `rebuild`: the blue/green rebuild of each projection, started as the support API starts
 * one (ProjectionRebuilds.start: in a fiber of the service) and timed from the start to its switch,
 * over a log of 1,000,000 events (--quick: 100,000; PGlite without DATABASE_URL: 20,000 / 5,000),
 * next to the floor in the same run: one plain SELECT streaming the
 * same events (a postgres.js cursor; keyset pages on PGlite). Peak RSS of this process meanwhile.
 * BENCH_REBUILD_EVENTS sets the log's size.
 *
 * The log is made fast and realistic: a few real imports through the pipeline (every event type at
 * its real size: pages of 25 leads, dedupe decisions, batches, charges, refunds, lists, credits)
 * are the template, cloned by set-based SQL with every uuid and run id made unique per clone.
 */
import { Effect } from "effect"
import { sql } from "kysely"
import postgres from "postgres"
import { inlineProjections } from "../projections/index.ts"
import { Database } from "../src/db/Database.ts"
import { ProjectionRebuilds } from "../src/eventstore/ProjectionRebuilds.ts"
import type { Projection } from "../src/eventstore/Projection.ts"
import { runTemplateImports } from "./pipeline.ts"
import { type Backend, fmt, type Options, pct, type Row, rssMb, rssSampler, seconds, serviceEnv, servicesRuntime, withScratch } from "./lib.ts"

/** Clone `g` of a text: every uuid's first group and every run id's head become the clone's number. */
const cloned = (column: string) =>
  `regexp_replace(regexp_replace(${column}, '[0-9a-f]{8}(-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})', lpad(to_hex(g), 8, '0') || '\\1', 'g'),
     'run_([A-Za-z0-9]{16,34})', 'run_' || lpad(to_hex(g), 6, '0') || '\\1', 'g')`

/** Appends clones `from`..`to` of the template (bench_template) to the log, in one statement. */
const cloneStatement = (from: number, to: number) =>
  sql.raw(`insert into events (event_id, stream_id, version, type, schema_version, data, metadata, correlation_id, causation_id, user_id, recorded_at)
    select gen_random_uuid(), ${cloned("t.stream_id")}, t.version, t.type, t.schema_version, ${cloned("t.data::text")}::jsonb,
           ${cloned("t.metadata::text")}::jsonb, ${cloned("t.correlation_id")}, ${cloned("t.causation_id")}, ${cloned("t.user_id")}, t.recorded_at
    from bench_template t, generate_series(${from}, ${to}) g order by g, t.position`)

/** A log of at least `target` events: the template imports, then clones of them. */
const makeLog = (target: number) =>
  Effect.gen(function*() {
    const db = yield* Database
    yield* runTemplateImports([2500, 1000, 500, 250, 100])
    yield* db.query((q) => sql`create table bench_template as select * from events order by position`.execute(q))
    const { rows } = yield* db.query((q) => sql<{ n: number }>`select count(*)::int as n from bench_template`.execute(q))
    const per = rows[0]!.n
    const clones = Math.ceil((target - per) / per)
    const step = Math.max(1, Math.floor(50_000 / per))
    for (let g = 1; g <= clones; g += step) yield* db.query((q) => cloneStatement(g, Math.min(clones, g + step - 1)).execute(q))
    yield* db.query((q) => sql`drop table bench_template`.execute(q))
    yield* db.query((q) => sql`analyze events`.execute(q))
    return per * (clones + 1)
  })

/** The floor: every event of the log streamed by one plain SELECT; events per second. */
const streamAll = (databaseUrl: string | undefined) =>
  databaseUrl
    ? Effect.promise(async () => {
      const client = postgres(databaseUrl, { max: 1, onnotice: () => {} })
      try {
        let n = 0
        const started = performance.now()
        await client`select position, event_id, stream_id, version, type, schema_version, data, metadata, recorded_at
          from events order by position`.cursor(2000, (rows) => {
          n += rows.length
        })
        return n / seconds(started)
      } finally {
        await client.end()
      }
    })
    : Effect.gen(function*() {
      // PGlite has no server-side cursor here: keyset pages of 2,000 in position order.
      const db = yield* Database
      let n = 0
      let after = 0
      const started = performance.now()
      for (;;) {
        const { rows } = yield* db.query((q) =>
          sql<{ position: number }>`select position, event_id, stream_id, version, type, schema_version, data, metadata, recorded_at
            from events where position > ${after} order by position limit 2000`.execute(q)
        )
        if (rows.length === 0) break
        n += rows.length
        after = Number(rows.at(-1)!.position)
      }
      return n / seconds(started)
    })

/**
 * Rebuilds `projection` as the support API does (ProjectionRebuilds.start: blue/green, in a fiber
 * of the service) and waits for its switch; the events of its types in the log.
 */
const rebuild = (projection: Projection) =>
  Effect.gen(function*() {
    const rebuilds = yield* ProjectionRebuilds
    const { version } = yield* rebuilds.start(projection.name)
    for (;;) {
      const state = (yield* rebuilds.states).find((s) => s.name === projection.name)!
      if (state.status === "live" && state.version >= version) break
      yield* Effect.sleep(50)
    }
    const db = yield* Database
    const { rows } = yield* db.query((q) =>
      sql<{ n: number }>`select count(*)::int as n from events where type in (${sql.join(projection.handles)})`.execute(q)
    )
    return { events: rows[0]!.n }
  })

const measure = async (backend: Backend, options: Options, serviceUrl: string | undefined) => {
  const target = Number(process.env.BENCH_REBUILD_EVENTS ?? 0) ||
    (backend === "PGlite" ? (options.quick ? 5_000 : 20_000) : options.quick ? 100_000 : 1_000_000)
  const batchSize = backend === "PGlite" ? 100 : 2000
  const runtime = servicesRuntime(serviceEnv(serviceUrl, { FAKE_PAGE_LATENCY_MS: "0", REBUILD_BATCH_SIZE: String(batchSize) }))
  const rows: Array<Row> = []
  try {
    const made = performance.now()
    const events = await runtime.runPromise(makeLog(target))
    console.error(`rebuild ${backend}: a log of ${fmt(events)} events made in ${fmt(seconds(made), 1)} s`)
    const floor = await runtime.runPromise(streamAll(serviceUrl))
    const rssBefore = rssMb()
    const sampler = rssSampler()
    let all = 0
    let allSeconds = 0
    for (const projection of inlineProjections) {
      const started = performance.now()
      const result = await runtime.runPromise(rebuild(projection))
      const took = seconds(started)
      const rate = result.events / took
      all += result.events
      allSeconds += took
      const row: Row = {
        section: "rebuild",
        backend,
        measure: `rebuild ${projection.name} (${fmt(result.events)} events of its types, log of ${fmt(events)}, steps of ${fmt(batchSize)})`,
        value: `${fmt(rate)} events/s (${fmt(took, 1)} s)`,
        floor: `${fmt(floor)} events/s (one SELECT streaming the log)`,
        ratio: pct(rate, floor),
        target: backend === "PostgreSQL" ? "≥ 100,000 events/s, ≥ 30 %" : "",
        data: { projection: projection.name, events: result.events, seconds: took, eventsPerSecond: rate, floorEventsPerSecond: floor, log: events }
      }
      console.error(`rebuild ${backend} ${projection.name}: ${row.value} | ${row.floor} | ${row.ratio}`)
      rows.push(row)
    }
    const peak = sampler.stop()
    rows.push({
      section: "rebuild",
      backend,
      measure: `all five, one after the other; RSS of the process`,
      value: `${fmt(all / allSeconds)} events/s (${fmt(allSeconds, 1)} s); RSS ${fmt(rssBefore)} MB before, peak ${fmt(peak)} MB`,
      floor: `${fmt(floor)} events/s`,
      ratio: pct(all / allSeconds, floor),
      target: backend === "PostgreSQL" ? "peak RSS < 300 MB" : "",
      data: { events: all, seconds: allSeconds, rssBeforeMb: rssBefore, peakRssMb: peak }
    })
  } finally {
    await runtime.dispose()
  }
  return rows
}

export const runRebuild = async (options: Options): Promise<Array<Row>> => {
  if (!options.databaseUrl) return measure("PGlite", options, undefined)
  return withScratch(options.databaseUrl, "rebuild", (url) => measure("PostgreSQL", options, url))
}
