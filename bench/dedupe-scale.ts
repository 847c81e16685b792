/**
 * `node bench/dedupe-scale.ts`: the dedupe stage for a user whose lists already hold
 * 10,000 and then 1,000,000 leads' keys (in another list, so `skipExistingCustomers`
 * probes them all), timed over an import of 2,500 leads; the two side by side in one run.
 * The goal (issue 11): 1M stays within 2x of 10k. PGlite, or PostgreSQL with DATABASE_URL.
 */
import { ConfigProvider, Effect, Layer } from "effect"
import { sql } from "kysely"
import { randomBytes } from "node:crypto"
import postgres from "postgres"
import { ServicesLive } from "../src/app.ts"
import { Accounts } from "../src/accounts/Accounts.ts"
import { Database } from "../src/db/Database.ts"
import { Imports } from "../src/imports/Imports.ts"
import { ImportStages } from "../src/pipeline/ImportStages.ts"
import { localStageRunner } from "../src/pipeline/LocalEngine.ts"
import { runImport, type StageRunner } from "../src/pipeline/runImport.ts"

const LEADS = 2500

/** Mean ms of a dedupe stage for an import of a user who already has `existing` keys in another list. */
const dedupeWith = (existing: number) =>
  Effect.gen(function*() {
    const db = yield* Database
    const accounts = yield* Accounts
    const imports = yield* Imports
    const stages = yield* ImportStages
    const user = yield* accounts.createUser({ email: `d-${randomBytes(6).toString("hex")}@example.com`, credits: LEADS, salesNavigator: true })
    const otherList = crypto.randomUUID()
    for (let from = 0; from < existing; from += 100_000) {
      yield* db.query((q) =>
        sql`insert into lead_keys (user_id, key, list_id, row_id)
            select ${user.userId}::uuid, 'urn:li:member:' || g, ${otherList}::uuid, gen_random_uuid()
            from generate_series(${from}::int, ${Math.min(existing, from + 100_000) - 1}::int) g`.execute(q)
      )
    }
    const run = yield* imports.start(user.userId, {
      url: `https://www.linkedin.com/sales/search/people?query=(dedupe-${randomBytes(4).toString("hex")})`,
      maxResults: LEADS,
      skipExistingCustomers: true
    })
    const inner = localStageRunner(stages)
    let ms = 0
    let calls = 0
    const runner: StageRunner = {
      ...inner,
      dedupe: (i, p) =>
        Effect.suspend(() => {
          const started = performance.now()
          return Effect.tap(inner.dedupe(i, p), () =>
            Effect.sync(() => {
              ms += performance.now() - started
              calls++
            }))
        })
    }
    yield* runImport(run.importId, run.runId, () => runner)
    return ms / calls
  })

const measureOn = (backend: string, database: Layer.Layer<Database, unknown>) =>
  Effect.gen(function*() {
    yield* dedupeWith(0) // warm-up
    const small = yield* dedupeWith(10_000)
    const large = yield* dedupeWith(1_000_000)
    const again = yield* dedupeWith(10_000)
    const base = (small + again) / 2
    console.error(
      `${backend}: dedupe per page: 10k existing ${small.toFixed(2)} / ${again.toFixed(2)} ms, 1M existing ${large.toFixed(2)} ms: ${
        (large / base).toFixed(2)
      }x`
    )
  }).pipe(
    Effect.provide(ServicesLive.pipe(
      Layer.provideMerge(database),
      Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ FAKE_PAGE_LATENCY_MS: "0", TASK_ENGINE: "local" })))
    ))
  )

const scratchPostgres = (url: string) =>
  Layer.unwrap(Effect.gen(function*() {
    const name = `sni_dedupe_${randomBytes(4).toString("hex")}`
    const admin = new URL(url)
    admin.pathname = "/postgres"
    const target = new URL(url)
    target.pathname = `/${name}`
    const run = (statement: string) =>
      Effect.promise(async () => {
        const a = postgres(admin.toString(), { max: 1, onnotice: () => {} })
        await a.unsafe(statement)
        await a.end()
      })
    yield* Effect.acquireRelease(run(`create database ${name}`), () => run(`drop database if exists ${name} with (force)`))
    return Database.layerPostgres(target.toString())
  }))

const main = process.env.DATABASE_URL
  ? measureOn("PostgreSQL", scratchPostgres(process.env.DATABASE_URL))
  : measureOn("PGlite", Database.layerPGlite())

Effect.runPromise(Effect.scoped(main)).catch((e) => {
  console.error(e)
  process.exit(1)
})
