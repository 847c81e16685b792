/**
 * Section `rebuild`: the blue/green rebuild of each projection, started as the support API starts
 * one (ProjectionRebuilds.start: in a fiber of the service) and timed from the start to its switch,
 * over a log of 1,000,000 events (--quick: 25,000; PGlite without DATABASE_URL: 20,000 / 5,000),
 * next to two floors in the same run: one plain SELECT streaming the same events (a postgres.js
 * cursor; keyset pages on PGlite), and for list-rows and lead-index the rows/s of one set-based
 * INSERT … SELECT of their rows from the log into equally indexed tables (--quick: a 50,000-row
 * sample). On PostgreSQL the rebuilds run in the service as `npm start` runs it (a process of its
 * own, started by the support API, timed by the start and switch it records), so its RSS — idle
 * before, then its peak by ¼, ½ and all of the events — is the service's, not the bench's; on PGlite
 * (one process holds the database) in this process. BENCH_REBUILD_EVENTS sets the log's size.
 *
 * The log is made fast and realistic: a few real imports through the pipeline (every event type at
 * its real size: pages of 25 leads, dedupe decisions, batches, charges, refunds, lists, credits)
 * are the template, cloned by set-based SQL with every uuid and run id made unique per clone.
 */
import { Effect } from "effect"
import { sql } from "kysely"
import postgres from "postgres"
import { inlineProjections } from "../projections/index.ts"
import { collectGarbage } from "../src/collectGarbage.ts"
import { Database } from "../src/db/Database.ts"
import { ProjectionRebuilds } from "../src/eventstore/ProjectionRebuilds.ts"
import { type Projection, storedEvents } from "../src/eventstore/Projection.ts"
import { api, freePort, startService, waitFor } from "../test/support/service-process.ts"
import { startOptions, stop } from "./memory.ts"
import { runTemplateImports } from "./pipeline.ts"
import { type Backend, fmt, type Options, pct, type Row, rssMb, rssSampler, seconds, serviceEnv, servicesRuntime, sleep, withScratch } from "./lib.ts"

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
export const makeLog = (target: number) =>
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
export const rebuild = (projection: Projection, onProgress: (processed: number) => void = () => {}) =>
  Effect.gen(function*() {
    const rebuilds = yield* ProjectionRebuilds
    const { version } = yield* rebuilds.start(projection.name)
    for (;;) {
      const state = (yield* rebuilds.states).find((s) => s.name === projection.name)!
      if (state.status === "live" && state.version >= version) break
      onProgress(state.rebuild?.processed ?? 0)
      yield* Effect.sleep(50)
    }
    const db = yield* Database
    const { rows } = yield* db.query((q) =>
      sql<{ n: number }>`select count(*)::int as n from events where type in (${sql.join(projection.handles)})`.execute(q)
    )
    return { events: rows[0]!.n }
  })

/** How the section rebuilds a projection: the events of its types, and the seconds from its start to its switch. */
interface Rebuilder {
  readonly pid: number
  rebuild(projection: Projection, onProgress: (processed: number) => void): Promise<{ readonly events: number; readonly seconds: number }>
  close(): Promise<void>
}

/** In this process (PGlite: the database lives in the process that made the log). */
const inProcess = (runtime: ReturnType<typeof servicesRuntime>): Rebuilder => ({
  pid: process.pid,
  rebuild: async (projection, onProgress) => {
    const started = performance.now()
    const { events } = await runtime.runPromise(rebuild(projection, onProgress))
    return { events, seconds: seconds(started) }
  },
  close: async () => {}
})

const SUPPORT = `bench-support-${crypto.randomUUID()}`

/**
 * In the service (`node src/main.ts` with npm start's Node options) over the same database,
 * through the support API; timed by the rebuild's own record (projection_versions: started_at,
 * and updated_at at the switch), so polling adds nothing to the figure.
 */
const inService = async (runtime: ReturnType<typeof servicesRuntime>, databaseUrl: string, batchSize: number): Promise<Rebuilder> => {
  const port = await freePort()
  const output: Array<string> = []
  const child = startService({
    ...serviceEnv(databaseUrl, { REBUILD_BATCH_SIZE: String(batchSize) }),
    PORT: String(port),
    SUPPORT_TOKEN: SUPPORT
  }, output, startOptions())
  const call = api(port)
  await waitFor("the service's port", async () => ((await call("GET", "/api/support/projections", SUPPORT)).status === 200 ? true : undefined), 120_000)
  await sleep(2000)
  return {
    pid: child.pid!,
    rebuild: async (projection, onProgress) => {
      const started = await call("POST", `/api/support/projections/${projection.name}/rebuild`, SUPPORT)
      if (started.status !== 202) throw new Error(`rebuild ${projection.name}: ${started.status} ${JSON.stringify(started.body)}`)
      const version = (started.body as { version: number }).version
      for (;;) {
        const { body } = await call("GET", "/api/support/projections", SUPPORT)
        const state = (body as { projections: Array<{ name: string; status: string; version: number; rebuild: { processed: number } | null }> })
          .projections.find((p) => p.name === projection.name)!
        if (state.status === "live" && state.version >= version) break
        onProgress(state.rebuild?.processed ?? 0)
        await sleep(50)
      }
      return runtime.runPromise(Effect.gen(function*() {
        const db = yield* Database
        const took = yield* db.query((q) =>
          sql<{ s: number }>`select extract(epoch from updated_at - started_at)::float8 as s from projection_versions where name = ${projection.name}`.execute(q)
        )
        const { rows } = yield* db.query((q) =>
          sql<{ n: number }>`select count(*)::int as n from events where type in (${sql.join(projection.handles)})`.execute(q)
        )
        return { events: rows[0]!.n, seconds: Number(took.rows[0]!.s) }
      }))
    },
    close: () => stop(child)
  }
}

/** Rows of each of `tables`. */
const tableRows = (tables: ReadonlyArray<string>) =>
  Effect.flatMap(Database, (db) =>
    Effect.forEach(tables, (table) =>
      db.query((q) => sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(q)).pipe(
        Effect.map(({ rows }) => rows[0]!.n)
      ))
  )

/** Rows of a projection's tables (what its rebuild wrote). */
const rowsOf = (projection: Projection) => Effect.map(tableRows(projection.tables), (counts) => counts.reduce((a, b) => a + b, 0))

/** list_rows and lead_keys rows of the log's batches, as the projections derive them, at most `limit`. */
const floorRows = {
  list_rows: (limit: number) =>
    sql`insert into bench_floor_list_rows (id, list_id, user_id, import_id, run_id, linkedin_url, sales_nav_url, profile, added_at)
      select (r->>'rowId')::uuid, (e.data->>'listId')::uuid, (e.data->>'userId')::uuid, (e.data->>'importId')::uuid, e.data->>'runId',
        r->'lead'->>'linkedinUrl', r->'lead'->>'salesNavUrl',
        jsonb_strip_nulls(jsonb_build_object('firstName', r->'lead'->'firstName', 'lastName', r->'lead'->'lastName',
          'fullName', r->'lead'->'fullName', 'headline', r->'lead'->'headline', 'currentRole', r->'lead'->'currentRole',
          'currentCompany', r->'lead'->'currentCompany', 'location', r->'lead'->'location')), e.recorded_at
      from ${storedEvents(sql`events where type = 'BatchPersisted'`)} e, jsonb_array_elements(e.data->'rows') r limit ${limit}`,
  lead_keys: (limit: number) =>
    sql`insert into bench_floor_lead_keys (user_id, key, list_id, row_id)
      select (e.data->>'userId')::uuid, k, (e.data->>'listId')::uuid, (r->>'rowId')::uuid
      from ${storedEvents(sql`events where type = 'BatchPersisted'`)} e, jsonb_array_elements(e.data->'rows') r,
        jsonb_array_elements_text(r->'keys') k
      limit ${limit} on conflict do nothing`,
  import_seen_keys: (limit: number) =>
    sql`insert into bench_floor_import_seen_keys (import_id, key)
      select (e.data->>'importId')::uuid, k
      from ${storedEvents(sql`events where type = 'LeadsDeduped'`)} e, jsonb_array_elements(e.data->'decisions') d,
        jsonb_array_elements_text(d->'keys') k
      where d->>'outcome' <> 'kept'
      limit ${limit} on conflict do nothing`
}

/**
 * The row-write floor: one set-based INSERT … SELECT of up to `limit` rows of the log (each event's
 * data read once) into a copy of the table with the same keys and indexes — loaded as a rebuild
 * loads a generation, its keys during the insert and its other indexes built once after — in the
 * database alone (no client, no decode, no steps); rows per second.
 */
const writeFloor = (table: keyof typeof floorRows, limit: number) =>
  Effect.gen(function*() {
    const db = yield* Database
    const floorTable = `bench_floor_${table}`
    yield* db.query((q) => sql`create table ${sql.table(floorTable)} (like ${sql.table(table)} including all)`.execute(q))
    const { rows: others } = yield* db.query((q) =>
      sql<{ name: string; definition: string }>`select indexrelid::regclass::text as name, pg_get_indexdef(indexrelid) as definition
        from pg_index where indrelid = ${floorTable}::regclass and not indisunique`.execute(q)
    )
    for (const index of others) yield* db.query((q) => sql`drop index ${sql.raw(index.name)}`.execute(q))
    const started = performance.now()
    const result = yield* db.query((q) => floorRows[table](limit).execute(q))
    for (const index of others) yield* db.query((q) => sql.raw(index.definition).execute(q))
    const took = seconds(started)
    yield* db.query((q) => sql`drop table ${sql.table(floorTable)}`.execute(q))
    return Number(result.numAffectedRows ?? 0) / took
  })

const measure = async (backend: Backend, options: Options, serviceUrl: string | undefined) => {
  const target = Number(process.env.BENCH_REBUILD_EVENTS ?? 0) ||
    (backend === "PGlite" ? (options.quick ? 5_000 : 20_000) : options.quick ? 25_000 : 1_000_000)
  const batchSize = backend === "PGlite" ? 100 : 2000
  const runtime = servicesRuntime(serviceEnv(serviceUrl, { FAKE_PAGE_LATENCY_MS: "0", REBUILD_BATCH_SIZE: String(batchSize) }))
  const rows: Array<Row> = []
  let rebuilder: Rebuilder | undefined
  try {
    const made = performance.now()
    const events = await runtime.runPromise(makeLog(target))
    console.error(`rebuild ${backend}: a log of ${fmt(events)} events made in ${fmt(seconds(made), 1)} s`)
    const floor = await runtime.runPromise(streamAll(serviceUrl))
    // Quick runs time the row floor on a sample: per-row cost, not the whole log again.
    const floorLimit = options.quick ? 50_000 : Number.MAX_SAFE_INTEGER
    const listRowsFloor = await runtime.runPromise(writeFloor("list_rows", floorLimit))
    const leadKeysFloor = await runtime.runPromise(writeFloor("lead_keys", floorLimit))
    const seenKeysFloor = await runtime.runPromise(writeFloor("import_seen_keys", floorLimit))
    console.error(
      `rebuild ${backend}: row-write floor ${fmt(listRowsFloor)} list_rows/s, ${fmt(leadKeysFloor)} lead_keys/s, ${fmt(seenKeysFloor)} import_seen_keys/s`
    )
    collectGarbage()
    rebuilder = serviceUrl ? await inService(runtime, serviceUrl, batchSize) : inProcess(runtime)
    const rssBefore = rssMb(rebuilder.pid)
    const sampler = rssSampler(100, rebuilder.pid)
    // RSS by ¼, ½ and all of the rebuilds' events: the peak sampled until each is reached.
    const counts = await runtime.runPromise(Effect.forEach(inlineProjections, (p) =>
      Effect.flatMap(Database, (db) =>
        db.query((q) => sql<{ n: number }>`select count(*)::int as n from events where type in (${sql.join(p.handles)})`.execute(q))
      ).pipe(Effect.map(({ rows }) => rows[0]!.n))
    ))
    const total = counts.reduce((a, b) => a + b, 0)
    const milestones = [0.25, 0.5, 1].map((share) => ({ share, at: share * total, peak: Number.NaN }))
    const reached = (done: number) => {
      for (const m of milestones) if (Number.isNaN(m.peak) && done >= m.at) m.peak = Math.max(sampler.peak, rssMb(rebuilder!.pid))
    }
    let all = 0
    let allSeconds = 0
    for (const projection of inlineProjections) {
      const result = await rebuilder.rebuild(projection, (processed) => reached(all + processed))
      const took = result.seconds
      const rate = result.events / took
      all += result.events
      reached(all)
      allSeconds += took
      const written = await runtime.runPromise(rowsOf(projection))
      // lead-index writes two tables: its floor is the time the floor takes for both tables' rows.
      const rowFloor = projection.name === "list-rows"
        ? listRowsFloor
        : projection.name === "lead-index"
        ? await runtime.runPromise(Effect.map(tableRows(["lead_keys", "import_seen_keys"]), ([keys, seen]) =>
          (keys! + seen!) / (keys! / leadKeysFloor + seen! / seenKeysFloor)
        ))
        : undefined
      const rowsPerSecond = written / took
      const row: Row = {
        section: "rebuild",
        backend,
        measure: `rebuild ${projection.name} (${fmt(result.events)} events of its types, ${fmt(written / Math.max(1, result.events), 1)} rows an event, log of ${fmt(events)}, steps of ${fmt(batchSize)})`,
        value: `${fmt(rate)} events/s (${fmt(took, 1)} s; ${fmt(rowsPerSecond)} rows/s)`,
        floor: `${fmt(floor)} events/s (one SELECT streaming the log)` +
          (rowFloor === undefined ? "" : `; ${fmt(rowFloor)} rows/s (INSERT … SELECT of its rows: ${pct(rowsPerSecond, rowFloor)} of it)`),
        ratio: pct(rate, floor),
        target: backend === "PostgreSQL" ? "≥ 100,000 events/s, ≥ 30 %" : "",
        data: {
          projection: projection.name,
          events: result.events,
          rows: written,
          seconds: took,
          eventsPerSecond: rate,
          rowsPerSecond,
          floorEventsPerSecond: floor,
          floorRowsPerSecond: rowFloor ?? null,
          log: events
        }
      }
      console.error(`rebuild ${backend} ${projection.name}: ${row.value} | ${row.floor} | ${row.ratio}`)
      rows.push(row)
    }
    const peak = sampler.stop()
    const [quarter, half, whole] = milestones.map((m) => m.peak)
    rows.push({
      section: "rebuild",
      backend,
      measure: serviceUrl
        ? `all five, one after the other, in the service as npm start runs it; its RSS (idle before; peak by ¼, ½, all of their events)`
        : `all five, one after the other, in this process; its RSS (after a GC before; peak by ¼, ½, all of their events)`,
      value: `${fmt(all / allSeconds)} events/s (${fmt(allSeconds, 1)} s); RSS ${fmt(rssBefore)} MB before, ${fmt(quarter!)} / ${fmt(half!)} / ${
        fmt(whole!)
      } MB by ¼ / ½ / all`,
      floor: `${fmt(floor)} events/s`,
      ratio: pct(all / allSeconds, floor),
      target: backend === "PostgreSQL" ? "peak RSS < 300 MB, flat" : "",
      data: { events: all, seconds: allSeconds, rssBeforeMb: rssBefore, rssQuarterMb: quarter, rssHalfMb: half, peakRssMb: peak }
    })
  } finally {
    await rebuilder?.close()
    await runtime.dispose()
  }
  return rows
}

export const runRebuild = async (options: Options): Promise<Array<Row>> => {
  if (!options.databaseUrl) return measure("PGlite", options, undefined)
  return withScratch(options.databaseUrl, "rebuild", (url) => measure("PostgreSQL", options, url))
}
