/**
 * `npm run bench:trigger-keepalive` (needs DATABASE_URL): what Trigger.dev's processKeepAlive
 * would save us. Imports run on the real runtime (test/support/trigger-runtime): the parent
 * triggers and waits for each stage subtask, ~3 per page. Measured per subtask run: from its
 * trigger to its end (what the parent waits), and the attempt alone (process acquired →
 * completion handled), with a fresh worker process per run (our config today) and with a
 * kept-alive one. Not part of `npm test`.
 */
import { ConfigProvider, Effect, Layer } from "effect"
import { randomBytes } from "node:crypto"
import postgres from "postgres"
import { Accounts } from "../src/accounts/Accounts.ts"
import { ServicesLive } from "../src/app.ts"
import { Database } from "../src/db/Database.ts"
import { Imports } from "../src/imports/Imports.ts"
import { withDatabase } from "../test/support/postgres-url.ts"
import { buildBundle, type Run, startTriggerRuntime } from "../test/support/trigger-runtime/index.ts"

/** 10 pages of 25: 30 page subtasks and a refund per import. */
const LEADS = Number(process.env.BENCH_LEADS ?? 250)
const IMPORTS = Number(process.env.BENCH_IMPORTS ?? 2)

const quantile = (values: ReadonlyArray<number>, q: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}
const summary = (values: ReadonlyArray<number>) =>
  `median ${Math.round(quantile(values, 0.5))} ms, p90 ${Math.round(quantile(values, 0.9))} ms (n=${values.length})`

/** IMPORTS imports on a runtime with processKeepAlive on or off; the subtask runs they made. */
const measure = (databaseUrl: string, keepAlive: boolean) =>
  Effect.gen(function*() {
    const bundle = yield* Effect.promise(() => buildBundle())
    const runtime = yield* Effect.acquireRelease(
      Effect.promise(() => startTriggerRuntime({ bundle, processKeepAlive: keepAlive, env: { DATABASE_URL: databaseUrl, FAKE_PAGE_LATENCY_MS: "0" } })),
      (r) => Effect.promise(() => r.close())
    )
    const services = ServicesLive.pipe(
      Layer.provideMerge(Database.layerPostgres(databaseUrl)),
      Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({
        FAKE_PAGE_LATENCY_MS: "0",
        TASK_ENGINE: "trigger",
        TRIGGER_API_URL: runtime.url,
        TRIGGER_SECRET_KEY: runtime.secretKey
      })))
    )
    const imports: Array<number> = []
    const children: Array<Readonly<Run>> = []
    yield* Effect.gen(function*() {
      const accounts = yield* Accounts
      const importsService = yield* Imports
      for (let i = 0; i < IMPORTS; i++) {
        const user = yield* accounts.createUser({ email: `keepalive-${randomBytes(6).toString("hex")}@example.com`, credits: LEADS, salesNavigator: true })
        const url = `https://www.linkedin.com/sales/search/people?query=(keepalive-${randomBytes(4).toString("hex")})`
        const started = performance.now()
        const { runId } = yield* importsService.start(user.userId, { url, maxResults: LEADS, skipExistingCustomers: true }).pipe(Effect.orDie)
        const parent = yield* Effect.promise(() => runtime.waitForRun(runId, { timeoutMs: 600_000 }))
        if (parent.status !== "COMPLETED") throw new Error(`import run ${runId} ended ${parent.status}`)
        imports.push(performance.now() - started)
        children.push(...runtime.runs().filter((r) => r.parentId === runId))
      }
    }).pipe(Effect.provide(services))
    const wall = children.map((r) => r.finishedAt!.getTime() - r.createdAt.getTime())
    const attempt = children.map((r) => r.attempts[0]!.finishedAt!.getTime() - r.attempts[0]!.startedAt.getTime())
    const processes = new Set(children.map((r) => r.attempts[0]!.pid)).size
    return { wall, attempt, imports, processes, runs: children.length }
  }).pipe(Effect.scoped)

const scratchDatabase = (url: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const name = `sni_bench_${randomBytes(4).toString("hex")}`
      const admin = postgres(withDatabase(url, "postgres"), { max: 1, onnotice: () => {} })
      await admin.unsafe(`create database ${name}`)
      await admin.end()
      return { name, url: withDatabase(url, name) }
    }),
    ({ name }) =>
      Effect.promise(async () => {
        const admin = postgres(withDatabase(url, "postgres"), { max: 1, onnotice: () => {} })
        await admin.unsafe(`drop database if exists ${name} with (force)`)
        await admin.end()
      })
  )

const main = Effect.gen(function*() {
  const url = process.env.DATABASE_URL
  if (!url) throw new Error("DATABASE_URL is required: the workers are separate processes")
  const db = yield* scratchDatabase(url)
  // Migrates the scratch database once, and warms the bundle cache.
  yield* Effect.provide(Effect.void, Database.layerPostgres(db.url))
  const bundle = yield* Effect.promise(() => buildBundle())
  console.error(`bundle ${bundle.cached ? "cached" : "built"} in ${bundle.ms} ms`)
  console.log(`| processKeepAlive | subtask runs | processes | subtask trigger → end | attempt alone | imports of ${LEADS} leads |`)
  console.log("| --- | --- | --- | --- | --- | --- |")
  for (const keepAlive of [false, true]) {
    const r = yield* measure(db.url, keepAlive)
    const imports = r.imports.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(", ")
    console.log(`| ${keepAlive ? "on" : "off"} | ${r.runs} | ${r.processes} | ${summary(r.wall)} | ${summary(r.attempt)} | ${imports} |`)
  }
})

Effect.runPromise(Effect.scoped(main)).catch((e) => {
  console.error(e)
  process.exit(1)
})
