/**
 * Section `append`: EventStore.append alone (no inline projections, outside any transaction), one
 * event per append, each writer on a stream of its own, for a fixed time — 1 writer and 16 — next
 * to the floor in the same run: single-row INSERT transactions into an events-shaped scratch
 * table, by the real `pgbench` (16 clients, 2 threads) on PostgreSQL, or by 16 loops on a PGlite
 * instance of their own without DATABASE_URL.
 *
 * The two take turns in short slices (service, floor, floor, service, …), so a neighbour that
 * slows the machine for a while slows both alike: the ratio is of their means, and the spread
 * of the slices' ratios says how steady the machine was.
 */
import { ConfigProvider, Effect, Layer, ManagedRuntime } from "effect"
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { CreditsGranted } from "../events/index.ts"
import { Database } from "../src/db/Database.ts"
import { EventStore } from "../src/eventstore/EventStore.ts"
import { type FloorSql, floorPGlite, floorPostgres } from "./floor.ts"
import { type Backend, checkpoint, fmt, mean, type Options, pct, type Row, serviceEnv, spread, takingTurns, withScratch } from "./lib.ts"

const WRITERS = [1, 16]

const FLOOR_TABLE = `create table floor_events (
  position bigint generated always as identity primary key, event_id uuid not null unique, stream_id text not null,
  version integer not null, type text not null, schema_version integer not null, data jsonb not null,
  metadata jsonb not null default '{}'::jsonb, recorded_at timestamptz not null default now())`
const FLOOR_INSERT = (stream: string) =>
  `insert into floor_events (event_id, stream_id, version, type, schema_version, data)
   values (gen_random_uuid(), ${stream}, 1, 'CreditsGranted', 1, '{"userId":"00000000-0000-4000-8000-000000000000","amount":1,"reason":"bench"}')`

/** Appends per second by `writers` fibers, each on its own stream, for `seconds`. */
const storeAppends = (writers: number, seconds: number) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const userId = crypto.randomUUID()
    const deadline = performance.now() + seconds * 1000
    const started = performance.now()
    const counts = yield* Effect.forEach(Array.from({ length: writers }), () =>
      Effect.gen(function*() {
        const stream = `bench-${crypto.randomUUID()}`
        let n = 0
        while (performance.now() < deadline) {
          yield* store.append(stream, [new CreditsGranted({ userId, amount: 1, reason: "bench" })], { expectedVersion: n === 0 ? "no-stream" : n })
          n++
        }
        return n
      }), { concurrency: writers })
    return counts.reduce((a, b) => a + b, 0) / ((performance.now() - started) / 1000)
  })

/** pgbench: `clients` clients running the single-row INSERT for `seconds`; its tps (without connection time). */
const pgbench = (url: string, clients: number, seconds: number): number => {
  const dir = mkdtempSync(join(tmpdir(), "bench-pgbench-"))
  try {
    const script = join(dir, "insert.sql")
    writeFileSync(script, `${FLOOR_INSERT("'bench-' || :client_id").replace(/\s+/g, " ")};\n`)
    const u = new URL(url)
    const out = execFileSync("pgbench", [
      "-n", "-M", "prepared", "-f", script, "-c", String(clients), "-j", String(Math.min(clients, 2)), "-T", String(seconds),
      "-h", u.hostname, "-p", u.port || "5432", "-U", decodeURIComponent(u.username || "postgres"), u.pathname.slice(1)
    ], { encoding: "utf8", env: { ...process.env, ...(u.password ? { PGPASSWORD: decodeURIComponent(u.password) } : {}) } })
    const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(out)?.[1]
    if (tps === undefined) throw new Error(`pgbench said:\n${out}`)
    return Number(tps)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The PGlite floor: `writers` loops of single-row INSERTs on an in-memory PGlite of its own. */
const pgliteInserts = async (db: FloorSql, writers: number, seconds: number) => {
  const deadline = performance.now() + seconds * 1000
  const started = performance.now()
  const counts = await Promise.all(Array.from({ length: writers }, async (_, w) => {
    let n = 0
    while (performance.now() < deadline) {
      await db.query(FLOOR_INSERT(`'bench-${w}'`))
      n++
    }
    return n
  }))
  return counts.reduce((a, b) => a + b, 0) / ((performance.now() - started) / 1000)
}

const measure = async (backend: Backend, options: Options, serviceUrl: string | undefined, floorUrl: string | undefined) => {
  const seconds = options.seconds ?? (options.quick ? 3 : 10)
  const slices = options.quick ? 3 : 5
  // A pool as large as the floor's clients: what is measured is the store, not a queue for connections.
  const runtime = ManagedRuntime.make(EventStore.layer({ inline: [] }).pipe(
    Layer.provideMerge(Database.layer),
    Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(serviceEnv(serviceUrl, { DATABASE_POOL_MAX: "16" }))))
  ))
  const rows: Array<Row> = []
  const pgliteFloor = floorUrl ? undefined : await floorPGlite()
  try {
    if (floorUrl) {
      const floorDb = floorPostgres(floorUrl, 1)
      await floorDb.query(FLOOR_TABLE)
      await floorDb.close()
    } else {
      await pgliteFloor!.query(FLOOR_TABLE)
    }
    await runtime.runPromise(storeAppends(16, 1)) // warm-up
    for (const writers of WRITERS) {
      await checkpoint(serviceUrl)
      await checkpoint(floorUrl)
      const turns = await takingTurns(
        slices,
        seconds,
        (s) => runtime.runPromise(storeAppends(writers, s)),
        async (s) => floorUrl ? pgbench(floorUrl, writers, s) : pgliteInserts(pgliteFloor!, writers, s)
      )
      const store = mean(turns.service)
      const floor = mean(turns.floor)
      const ratios = turns.service.map((rate, i) => rate / turns.floor[i]!)
      const row: Row = {
        section: "append",
        backend,
        measure: `EventStore.append, ${writers} writer${writers > 1 ? "s" : ""} (own streams, 1 event each)`,
        value: `${fmt(store)} events/s`,
        floor: `${fmt(floor)} inserts/s (${floorUrl ? `pgbench -c ${writers}` : `PGlite, ${writers} loops`})`,
        ratio: `${pct(store, floor)} (slices ${spread(ratios)})`,
        target: writers === 16 ? "≥ 60 %" : "",
        data: { writers, store, floor, ratios, floorTool: floorUrl ? "pgbench -M prepared" : "PGlite" }
      }
      console.error(`append ${backend} ${writers}w: ${row.value} | ${row.floor} | ${row.ratio}`)
      rows.push(row)
    }
  } finally {
    await runtime.dispose()
    await pgliteFloor?.close()
  }
  return rows
}

export const runAppend = async (options: Options): Promise<Array<Row>> => {
  if (!options.databaseUrl) return measure("PGlite", options, undefined, undefined)
  const url = options.databaseUrl
  return withScratch(url, "append", (serviceUrl) => withScratch(url, "appendfloor", (floorUrl) => measure("PostgreSQL", options, serviceUrl, floorUrl)))
}
