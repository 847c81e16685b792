/**
 * `npm run bench:append`: event store appends/s against PostgreSQL's own floor, in one run.
 *
 * The store alone (no inline projections), one event per append, each writer on its own stream
 * with an exact expected version: 1 writer, then 16. The floor is pgbench with 16 clients running
 * single-row INSERT transactions into a scratch table of the same scratch database, measured
 * right after (and 1 client beside 1 writer), so both meet the same machine load. Needs DATABASE_URL (PGlite is measured too,
 * without a floor). Prints a markdown table.
 */
import { Effect, Layer } from "effect"
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import postgres from "postgres"
import { CreditsGranted } from "../events/index.ts"
import { Database } from "../src/db/Database.ts"
import { makeEventStore } from "../src/eventstore/EventStore.ts"

const SECONDS = Number(process.env.BENCH_APPEND_SECONDS ?? 5)
/** Group commit: batches in flight at once (the store's default when unset). */
const inFlight = process.env.BENCH_APPEND_IN_FLIGHT === undefined ? undefined : Number(process.env.BENCH_APPEND_IN_FLIGHT)

/** `writers` fibers appending one event at a time to their own streams for SECONDS; appends/s. */
const appends = (writers: number) =>
  Effect.gen(function*() {
    const store = makeEventStore(yield* Database, inFlight === undefined ? {} : { maxBatchesInFlight: inFlight })
    const userId = crypto.randomUUID()
    const until = performance.now() + SECONDS * 1000
    let done = 0
    const started = performance.now()
    yield* Effect.forEach(Array.from({ length: writers }), () =>
      Effect.gen(function*() {
        const stream = `bench-${crypto.randomUUID()}`
        for (let i = 0; performance.now() < until; i++) {
          yield* store.append(stream, [new CreditsGranted({ userId, amount: 1, reason: "bench" })], { expectedVersion: i })
          done++
        }
      }), { concurrency: writers })
    return done / ((performance.now() - started) / 1000)
  })

/** pgbench, `clients` clients, single-row INSERT transactions into a scratch table: transactions/s. */
const pgbench = (url: string, clients: number) =>
  Effect.promise(async () => {
    const sql = postgres(url, { max: 1, onnotice: () => {} })
    await sql.unsafe(`drop table if exists pgbench_append; create table pgbench_append (id bigserial primary key, v int not null)`)
    await sql.end()
    const script = `/tmp/pgbench-append-${randomBytes(4).toString("hex")}.sql`
    await import("node:fs/promises").then((fs) => fs.writeFile(script, "insert into pgbench_append (v) values (1);\n"))
    const target = new URL(url)
    const out = execFileSync("/usr/bin/pgbench", [
      "-n", "-c", String(clients), "-j", String(Math.min(clients, 2)), "-T", String(SECONDS), "-f", script,
      "-h", target.hostname, "-p", target.port || "5432", "-U", decodeURIComponent(target.username) || "postgres",
      target.pathname.slice(1)
    ], { encoding: "utf8" })
    return Number(/tps = ([\d.]+)/.exec(out)?.[1] ?? NaN)
  })

const scratch = (url: string) =>
  Effect.gen(function*() {
    const name = `sni_append_bench_${randomBytes(4).toString("hex")}`
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
  const lines: Array<string> = []
  const row = (backend: string, measure: string, value: string) => {
    console.error(`${backend}: ${measure} = ${value}`)
    lines.push(`| ${backend} | ${measure} | ${value} |`)
  }
  const run = (backend: string, layer: Layer.Layer<Database, unknown>) =>
    Effect.gen(function*() {
      yield* appends(4) // warm-up: JIT, prepared statements, pool
      const one = yield* appends(1)
      const sixteen = yield* appends(16)
      row(backend, "appends, 1 writer", `${Math.round(one)} events/s`)
      row(backend, "appends, 16 writers", `${Math.round(sixteen)} events/s`)
      return [one, sixteen] as const
    }).pipe(Effect.provide(layer))

  if (process.env.BENCH_APPEND_PGLITE !== "0") yield* run("PGlite", Database.layerPGlite())
  const url = process.env.DATABASE_URL
  if (url) {
    const database = yield* scratch(url)
    const [one, sixteen] = yield* run("PostgreSQL", Database.layerPostgres(database, { max: 20 }))
    const floorOne = yield* pgbench(database, 1)
    const floor = yield* pgbench(database, 16)
    row("PostgreSQL", "pgbench, 1 client, single-row INSERT transactions", `${Math.round(floorOne)} tx/s`)
    row("PostgreSQL", "pgbench, 16 clients, single-row INSERT transactions", `${Math.round(floor)} tx/s`)
    row("PostgreSQL", "appends / pgbench, 1 writer", `${(100 * one! / floorOne).toFixed(0)} %`)
    row("PostgreSQL", "appends / pgbench, 16 writers", `${(100 * sixteen! / floor).toFixed(0)} %`)
  } else {
    console.error("DATABASE_URL is not set: PGlite only, no pgbench floor")
  }
  console.log(`\n| backend | measure | result |\n| --- | --- | --- |\n${lines.join("\n")}`)
})

Effect.runPromise(Effect.scoped(main)).catch((e) => {
  console.error(e)
  process.exit(1)
})
