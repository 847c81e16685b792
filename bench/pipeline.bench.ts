/**
 * `npm run bench`: how fast the import pipeline writes, next to raw PostgreSQL doing
 * the same writes, and how much memory an import holds.
 *
 *  1. pipeline  — imports of 2,500 leads (100 pages: fetch, dedupe, persist with all
 *     inline projections, charges, refund) through the real stages, fake lead source
 *     without latency. Leads imported per second.
 *  2. raw       — the same writes by hand (see `raw` below): same events, rows, keys
 *     and counters, same per-stage commits, set-based SQL, no reads or checks. The
 *     floor our code cannot beat; the goal is at least half its speed.
 *  3. appends   — event store appends/s, 1 writer and 16 writers on separate streams.
 *  4. memory    — live heap (after GC) while imports of 250 and 2,500 leads run: a
 *     pipeline that streams pages holds the same whatever the import's size.
 *
 * Runs on PGlite, and on PostgreSQL too when DATABASE_URL is set (a scratch database
 * is created there and dropped). Prints a markdown table (copied into the README).
 */
import { ConfigProvider, Effect, Layer } from "effect"
import { sql } from "kysely"
import { randomBytes } from "node:crypto"
import postgres from "postgres"
import { ServicesLive } from "../src/app.ts"
import { Database } from "../src/db/Database.ts"
import { Accounts } from "../src/accounts/Accounts.ts"
import { makeEventStore } from "../src/eventstore/EventStore.ts"
import { Imports } from "../src/imports/Imports.ts"
import { fakeSearchPeople } from "../src/leads/FakeLeadSource.ts"
import { ImportStages } from "../src/pipeline/ImportStages.ts"
import { localStageRunner } from "../src/pipeline/LocalEngine.ts"
import { runImport, type StageRunner } from "../src/pipeline/runImport.ts"
import { leadIdentity } from "../src/pipeline/identity.ts"
import { CreditsGranted } from "../events/index.ts"

const IMPORTS = Number(process.env.BENCH_IMPORTS ?? 3)
const LEADS = 2500

interface Row {
  readonly backend: string
  readonly measure: string
  readonly value: string
}

const url = () => `https://www.linkedin.com/sales/search/people?query=(bench-${randomBytes(4).toString("hex")})`

/** `count` imports of LEADS leads each, sequentially; leads imported per second. */
const pipeline = (count: number) => Effect.gen(function*() {
  const accounts = yield* Accounts
  const imports = yield* Imports
  const stages = yield* ImportStages
  const runner = localStageRunner(stages)
  let imported = 0
  const started = performance.now()
  for (let i = 0; i < count; i++) {
    const user = yield* accounts.createUser({ email: `bench-${randomBytes(6).toString("hex")}@example.com`, credits: LEADS, salesNavigator: true })
    const run = yield* imports.start(user.userId, { url: url(), maxResults: LEADS, skipExistingCustomers: true })
    const summary = yield* runImport(run.importId, run.runId, () => runner)
    imported += summary.imported
  }
  return imported / ((performance.now() - started) / 1000)
})

/**
 * The same writes as the pipeline, by hand: the same events, rows, keys and counters,
 * with the same durability (each stage's facts committed before the next stage), as
 * set-based SQL — one statement per table per transaction — on one connection, with
 * no reads, no checks and no decoding. The physical floor of this design.
 */
const raw = (count: number) => Effect.gen(function*() {
  const db = yield* Database
  let written = 0
  const started = performance.now()
  for (let i = 0; i < count; i++) {
    const people = fakeSearchPeople(url())
    const importId = crypto.randomUUID()
    const userId = crypto.randomUUID()
    const listId = crypto.randomUUID()
    const importStream = `import-${importId}`
    const creditStream = `credits-${userId}`
    yield* db.query((q) =>
      sql`insert into imports (import_id, user_id, list_id, status, url, requested, max_results, was_capped, skip_existing_customers, created_at, updated_at)
          values (${importId}::uuid, ${userId}::uuid, ${listId}::uuid, 'running', 'raw', 2500, 2500, false, true, now(), now())`.execute(q)
    )
    yield* db.query((q) => sql`insert into lists (id, user_id, name, created_at) values (${listId}::uuid, ${userId}::uuid, 'raw', now())`.execute(q))
    yield* db.query((q) => sql`insert into credit_holds (import_id, user_id, reserved) values (${importId}::uuid, ${userId}::uuid, 2500)`.execute(q))
    yield* db.query((q) => sql`insert into credit_accounts (user_id, version, granted, reserved) values (${userId}::uuid, 1, 2500, 2500)`.execute(q))
    yield* db.query((q) => sql`insert into streams (stream_id, version) values (${importStream}, 0 + 1), (${creditStream}, 1)`.execute(q))
    let version = 1
    let creditVersion = 1
    const appendEvents = (stream: string, from: number, events: ReadonlyArray<{ type: string; data: unknown }>) =>
      Effect.andThen(
        db.query((q) =>
          sql`insert into events (event_id, stream_id, version, type, schema_version, data, metadata, correlation_id)
              select gen_random_uuid(), ${stream}, ${from}::int + e.ord::int, e.value->>'type', 1, e.value->'data', '{}'::jsonb, ${importId}
              from jsonb_array_elements(${JSON.stringify(events)}::text::jsonb) with ordinality as e(value, ord)`.execute(q)
        ),
        db.query((q) => sql`update streams set version = version + ${events.length}::int where stream_id = ${stream}`.execute(q))
      )
    for (let page = 0; page * 25 < people.length; page++) {
      const leads = people.slice(page * 25, page * 25 + 25)
      const rows = leads.map((lead) => ({ id: crypto.randomUUID(), lead, keys: leadIdentity(lead).index }))
      // fetch-page
      yield* db.transaction(Effect.gen(function*() {
        yield* appendEvents(importStream, version++, [{ type: "PageFetched", data: { importId, page, leads } }])
        yield* db.query((q) =>
          sql`update imports set pages_fetched = pages_fetched + 1, leads_fetched = leads_fetched + ${leads.length}, updated_at = now()
              where import_id = ${importId}::uuid`.execute(q)
        )
      }))
      // dedupe
      yield* db.transaction(Effect.gen(function*() {
        yield* appendEvents(importStream, version++, [{
          type: "LeadsDeduped",
          data: { importId, page, decisions: rows.map((r, index) => ({ index, keys: r.keys, outcome: "kept" })) }
        }])
        yield* db.query((q) =>
          sql`insert into import_seen_keys (import_id, key)
              select ${importId}::uuid, k from jsonb_array_elements(${JSON.stringify(rows)}::text::jsonb) r, jsonb_array_elements_text(r->'keys') k
              on conflict do nothing`.execute(q)
        )
        yield* db.query((q) => sql`update imports set updated_at = now() where import_id = ${importId}::uuid`.execute(q))
      }))
      // persist-batch
      yield* db.transaction(Effect.gen(function*() {
        yield* appendEvents(importStream, version++, [{
          type: "BatchPersisted",
          data: { importId, page, rows: rows.map((r, index) => ({ rowId: r.id, index, lead: r.lead, keys: r.keys })) }
        }])
        yield* appendEvents(creditStream, creditVersion++, [{ type: "CreditsCharged", data: { importId, page, amount: rows.length } }])
        yield* db.query((q) =>
          sql`insert into list_rows (id, list_id, user_id, import_id, run_id, linkedin_url, sales_nav_url, profile, added_at)
              select (r->>'id')::uuid, ${listId}::uuid, ${userId}::uuid, ${importId}::uuid, 'run_raw', r->'lead'->>'linkedinUrl',
                     r->'lead'->>'salesNavUrl', r->'lead', now()
              from jsonb_array_elements(${JSON.stringify(rows)}::text::jsonb) r`.execute(q)
        )
        yield* db.query((q) =>
          sql`insert into lead_keys (user_id, key, list_id, row_id)
              select ${userId}::uuid, k, ${listId}::uuid, (r->>'id')::uuid
              from jsonb_array_elements(${JSON.stringify(rows)}::text::jsonb) r, jsonb_array_elements_text(r->'keys') k
              on conflict do nothing`.execute(q)
        )
        yield* db.query((q) => sql`update lists set row_count = row_count + ${rows.length} where id = ${listId}::uuid`.execute(q))
        yield* db.query((q) =>
          sql`update imports set leads_imported = leads_imported + ${rows.length}, credits_charged = credits_charged + ${rows.length},
              updated_at = now() where import_id = ${importId}::uuid`.execute(q)
        )
        yield* db.query((q) =>
          sql`update credit_accounts set charged = charged + ${rows.length}, reserved = reserved - ${rows.length}, version = version + 1
              where user_id = ${userId}::uuid`.execute(q)
        )
        yield* db.query((q) => sql`update credit_holds set charged = charged + ${rows.length} where import_id = ${importId}::uuid`.execute(q))
      }))
      written += rows.length
    }
  }
  return written / ((performance.now() - started) / 1000)
})

/** Appends of one event each (the store alone, no projections): one writer, then 16 on their own streams. */
const appends = (writers: number, perWriter: number) =>
  Effect.gen(function*() {
    const store = makeEventStore(yield* Database)
    const userId = crypto.randomUUID()
    const started = performance.now()
    yield* Effect.forEach(Array.from({ length: writers }), () =>
      Effect.gen(function*() {
        const stream = `bench-${crypto.randomUUID()}`
        for (let i = 0; i < perWriter; i++) {
          yield* store.append(stream, [new CreditsGranted({ userId, amount: 1, reason: "bench" })], { expectedVersion: i })
        }
      }), { concurrency: writers })
    return (writers * perWriter) / ((performance.now() - started) / 1000)
  })

/**
 * Live heap while one import of `leads` leads runs: after every 10th stage the heap is
 * collected and measured, so what is counted is what the pipeline holds, not garbage.
 * Flat memory means the same figure for 250 leads as for 2,500.
 */
const liveHeapGrowth = (leads: number) =>
  Effect.gen(function*() {
    const accounts = yield* Accounts
    const imports = yield* Imports
    const stages = yield* ImportStages
    const gc = globalThis.gc ?? (() => {})
    gc()
    const baseline = process.memoryUsage().heapUsed
    let peak = baseline
    let calls = 0
    const sample = <A, E>(stage: Effect.Effect<A, E>) =>
      Effect.tap(stage, () =>
        Effect.sync(() => {
          if (++calls % 10 !== 0) return
          gc()
          peak = Math.max(peak, process.memoryUsage().heapUsed)
        }))
    const inner = localStageRunner(stages)
    const runner: StageRunner = {
      fetchPage: (i, p) => sample(inner.fetchPage(i, p)),
      dedupe: (i, p) => sample(inner.dedupe(i, p)),
      persistBatch: (i, p, r) => sample(inner.persistBatch(i, p, r)),
      refundUnusedCredits: (i, b) => sample(inner.refundUnusedCredits(i, b))
    }
    const user = yield* accounts.createUser({ email: `mem-${randomBytes(6).toString("hex")}@example.com`, credits: leads, salesNavigator: true })
    const run = yield* imports.start(user.userId, { url: url(), maxResults: leads, skipExistingCustomers: true })
    yield* runImport(run.importId, run.runId, () => runner)
    return (peak - baseline) / 1024 / 1024
  })

const measureOn = (backend: string, database: Layer.Layer<Database, unknown>) =>
  Effect.gen(function*() {
    const rows: Array<Row> = []
    const add = (measure: string, value: string) => {
      rows.push({ backend, measure, value })
      console.error(`${backend}: ${measure} = ${value}`)
    }
    // One unmeasured import each first, so neither side is timed with a cold JIT, cold caches
    // or PGlite's first use of a table.
    yield* pipeline(1)
    yield* raw(1)
    const pipe = yield* pipeline(IMPORTS)
    const floor = yield* raw(IMPORTS)
    add(`pipeline, ${IMPORTS} imports of ${LEADS} leads`, `${Math.round(pipe)} leads/s`)
    add("raw set-based SQL, same writes", `${Math.round(floor)} leads/s`)
    add("pipeline / raw", `${(100 * pipe / floor).toFixed(0)} %`)
    add("appends, 1 writer", `${Math.round(yield* appends(1, 500))} events/s`)
    add("appends, 16 writers", `${Math.round(yield* appends(16, 100))} events/s`)
    add("live heap growth, import of 250 leads", `${(yield* liveHeapGrowth(250)).toFixed(1)} MiB`)
    add(`live heap growth, import of ${LEADS} leads`, `${(yield* liveHeapGrowth(LEADS)).toFixed(1)} MiB`)
    return rows
  }).pipe(
    Effect.provide(ServicesLive.pipe(
      Layer.provideMerge(database),
      Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ FAKE_PAGE_LATENCY_MS: "0", TASK_ENGINE: "local" })))
    ))
  )

const scratchPostgres = (url: string) =>
  Layer.unwrap(Effect.gen(function*() {
    const name = `sni_bench_${randomBytes(4).toString("hex")}`
    const admin = new URL(url)
    admin.pathname = "/postgres"
    const target = new URL(url)
    target.pathname = `/${name}`
    yield* Effect.acquireRelease(
      Effect.promise(async () => {
        const a = postgres(admin.toString(), { max: 1, onnotice: () => {} })
        await a.unsafe(`create database ${name}`)
        await a.end()
      }),
      () =>
        Effect.promise(async () => {
          const a = postgres(admin.toString(), { max: 1, onnotice: () => {} })
          await a.unsafe(`drop database if exists ${name} with (force)`)
          await a.end()
        })
    )
    return Database.layerPostgres(target.toString(), { max: 20 })
  }))

const main = Effect.gen(function*() {
  const rows = [...yield* measureOn("PGlite", Database.layerPGlite())]
  if (process.env.DATABASE_URL) rows.push(...yield* measureOn("PostgreSQL", scratchPostgres(process.env.DATABASE_URL)))
  console.log(`\n| backend | measure | result |\n| --- | --- | --- |`)
  for (const r of rows) console.log(`| ${r.backend} | ${r.measure} | ${r.value} |`)
})

Effect.runPromise(Effect.scoped(main)).catch((e) => {
  console.error(e)
  process.exit(1)
})
