/**
 * Diagnostic for the rebuild section: makes the bench's log once in a kept database
 * (sni_rebuild_profile, or BENCH_PROFILE_DB), then rebuilds the projections named on the
 * command line (all by default) and prints, per projection, events/s, this process's CPU and
 * the CPU of the database's backends (from /proc: the server must be local), and peak RSS.
 * `BENCH_REBUILD_EVENTS` sizes the log (50,000 by default); `--fresh` makes it again.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node bench/rebuild-profile.ts list-rows lead-index
 */
import { Effect } from "effect"
import { sql } from "kysely"
import postgres from "postgres"
import { inlineProjections } from "../projections/index.ts"
import { Database } from "../src/db/Database.ts"
import { withDatabase } from "../test/support/postgres-url.ts"
import { adminSql, cpuDuring, fmt, rssMb, rssSampler, seconds, serviceEnv, servicesRuntime } from "./lib.ts"
import { makeLog, rebuild } from "./rebuild.ts"

const base = process.env.DATABASE_URL
if (!base) throw new Error("DATABASE_URL is needed (a local PostgreSQL)")
const name = process.env.BENCH_PROFILE_DB ?? "sni_rebuild_profile"
const fresh = process.argv.includes("--fresh")
const wanted = process.argv.slice(2).filter((a) => !a.startsWith("--"))
const url = withDatabase(base, name)

const admin = postgres(base, { max: 1, onnotice: () => {} })

if (fresh) await adminSql(base, `drop database if exists ${name} with (force)`)
const exists = await admin`select 1 from pg_database where datname = ${name}`
if (exists.length === 0) await adminSql(base, `create database ${name}`)
const runtime = servicesRuntime(serviceEnv(url, { FAKE_PAGE_LATENCY_MS: "0", REBUILD_BATCH_SIZE: process.env.REBUILD_BATCH_SIZE ?? "2000" }))
try {
  const n = await runtime.runPromise(Effect.flatMap(Database, (db) =>
    db.query((q) => sql<{ n: number }>`select count(*)::int as n from events`.execute(q))
  ).pipe(Effect.map(({ rows }) => rows[0]!.n)))
  if (n === 0) {
    const made = performance.now()
    const events = await runtime.runPromise(makeLog(Number(process.env.BENCH_REBUILD_EVENTS ?? 50_000)))
    console.log(`a log of ${fmt(events)} events made in ${fmt(seconds(made), 1)} s`)
  } else console.log(`the kept log: ${fmt(n)} events`)
  globalThis.gc?.()
  console.log(`RSS before: ${fmt(rssMb())} MB`)
  for (const projection of inlineProjections.filter((p) => wanted.length === 0 || wanted.includes(p.name))) {
    const sampler = rssSampler()
    // What the RSS is made of at its peak (V8 heap, buffers outside it).
    let made = ""
    let top = 0
    const watch = setInterval(() => {
      const m = process.memoryUsage()
      if (m.rss <= top) return
      top = m.rss
      made = `heap ${fmt(m.heapUsed / 2 ** 20)} of ${fmt(m.heapTotal / 2 ** 20)} MB, external ${fmt(m.external / 2 ** 20)} MB, array buffers ${fmt(m.arrayBuffers / 2 ** 20)} MB`
    }, 100)
    const { result: { events, took }, processMs, databaseMs } = await cpuDuring(url, async () => {
      const started = performance.now()
      const { events } = await runtime.runPromise(rebuild(projection))
      return { events, took: seconds(started) }
    })
    clearInterval(watch)
    console.log(`${projection.name}: ${fmt(events)} events in ${fmt(took, 2)} s = ${fmt(events / took)} events/s; ` +
      `service CPU ${fmt(processMs / 1000, 2)} s, database backends CPU ${fmt(databaseMs / 1000, 2)} s; peak RSS ${fmt(sampler.stop())} MB (${made})`)
  }
} finally {
  await runtime.dispose()
  await admin.end()
}
