/**
 * A task worker fails loud instead of quietly doing nothing: without DATABASE_URL or
 * LEAD_SOURCE, or on a database whose schema is behind, the attempt aborts (no retry) and
 * says what to set; a start that failed for a passing reason (the database away) is
 * retried with the runtime built again. The service with NODE_ENV=production refuses the
 * same toys: no embedded database, no fake lead source unless chosen explicitly.
 *
 * The worker reads the process environment, as it does on Trigger.dev; each case sets what
 * it needs and puts it back.
 */
import { describe, expect, it } from "@effect/vitest"
import { AbortTaskRunError } from "@trigger.dev/sdk"
import { ConfigProvider, Effect, Exit, Layer } from "effect"
import { PGlite } from "@electric-sql/pglite"
import { Kysely, PostgresDialect } from "kysely"
import postgres from "postgres"
import { Database } from "../../src/db/Database.ts"
import { missingMigrations } from "../../src/db/migrate.ts"
import { makePGlitePool } from "../../src/db/pglite-pool.ts"
import { EventStore } from "../../src/eventstore/EventStore.ts"
import { StagesLive, WorkerServicesLive } from "../../src/pipeline/layers.ts"
import { ImportStages } from "../../src/pipeline/ImportStages.ts"
import { runTask, useTaskRuntime } from "../../trigger/runtime.ts"
import { backend, createScratchDatabase, TestDatabase } from "../support/db.ts"
import { adminUrl, withDatabase } from "../support/postgres-url.ts"

const MIGRATIONS = ["0001_event_store", "0002_accounts_and_read_models", "0003_import_lifecycle", "0004_tokens_and_rate_limits", "0005_idempotency_keys", "0006_support", "0007_start_import_function", "0008_import_lock_and_check", "0009_import_lock_and_check_probes", "0010_events_data_lz4", "0011_local_engine_heartbeats", "0012_drop_unread_event_indexes", "0013_import_lock_check_and_look_up", "0014_imports_active_by_age"]

/** Runs `f` with these process environment variables (undefined: unset), then puts them back. */
const withEnv = async <A>(vars: Record<string, string | undefined>, f: () => Promise<A>): Promise<A> => {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]))
  for (const [k, v] of Object.entries(vars)) v === undefined ? delete process.env[k] : (process.env[k] = v)
  useTaskRuntime(undefined)
  try {
    return await f()
  } finally {
    for (const [k, v] of Object.entries(saved)) v === undefined ? delete process.env[k] : (process.env[k] = v)
    useTaskRuntime(undefined)
  }
}

/** What a task attempt does with this environment: a stage read of nothing, on the worker's runtime. */
const attempt = () => runTask(Effect.flatMap(ImportStages, (s) => s.loadState(crypto.randomUUID()))).then(() => "ran" as const)

const buildExit = <A, E>(layer: Layer.Layer<A, E, never>, env: Record<string, string>) =>
  Effect.runPromise(Effect.exit(Effect.scoped(Layer.build(layer.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(env))))))))

const failureMessage = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) ? String((exit.cause.reasons[0] as { error?: { message?: string } })?.error?.message ?? exit.cause) : "built"

describe("a task worker without its configuration", () => {
  it("no DATABASE_URL: the attempt aborts (not retried) and says to set it", async () => {
    const error = await withEnv({ DATABASE_URL: undefined, LEAD_SOURCE: "fake" }, attempt).catch((e) => e)
    expect(error).toBeInstanceOf(AbortTaskRunError)
    expect(error.message).toMatch(/misconfigured: DATABASE_URL is not set for this Trigger\.dev task/)
  })

  it("the same failure on every attempt: the runtime is built again each time, never left half made", async () => {
    for (let i = 0; i < 3; i++) {
      const error = await withEnv({ DATABASE_URL: "", LEAD_SOURCE: "unipile" }, attempt).catch((e) => e)
      expect(error).toBeInstanceOf(AbortTaskRunError)
    }
  })
})

describe(`a task worker on a database (${backend})`, () => {
  if (backend === "postgres") {
    it("no LEAD_SOURCE: the attempt aborts and says the fake is never chosen by default", async () => {
      const scratch = await createScratchDatabase()
      try {
        const error = await withEnv({ DATABASE_URL: scratch.url, LEAD_SOURCE: undefined }, attempt).catch((e) => e)
        expect(error).toBeInstanceOf(AbortTaskRunError)
        expect(error.message).toMatch(/LEAD_SOURCE is not set for this Trigger\.dev task/)
      } finally {
        await scratch.drop()
      }
    })

    it("a schema behind this code: aborts naming the migrations, and migrates nothing", async () => {
      const name = `sni_empty_${crypto.randomUUID().slice(0, 8)}`
      const admin = postgres(adminUrl(process.env.DATABASE_URL!), { max: 1, onnotice: () => {} })
      await admin.unsafe(`create database ${name}`)
      try {
        const url = withDatabase(process.env.DATABASE_URL!, name)
        const error = await withEnv({ DATABASE_URL: url, LEAD_SOURCE: "fake" }, attempt).catch((e) => e)
        expect(error).toBeInstanceOf(AbortTaskRunError)
        expect(error.message).toContain(`migrations ${MIGRATIONS.join(", ")} have not run`)
        const db = postgres(url, { max: 1, onnotice: () => {} })
        const tables = await db`select count(*)::int as n from information_schema.tables where table_schema = 'public'`
        await db.end()
        expect(tables[0]!.n).toBe(0)
      } finally {
        await admin.unsafe(`drop database if exists ${name} with (force)`)
        await admin.end()
      }
    })

    it("a database that is away: retried (not aborted), and the next attempt builds the runtime again and runs", async () => {
      const scratch = await createScratchDatabase()
      try {
        const away = await withEnv({ DATABASE_URL: "postgres://postgres@127.0.0.1:1/none", LEAD_SOURCE: "fake" }, attempt)
          .catch((e) => e)
        expect(away).not.toBeInstanceOf(AbortTaskRunError)
        expect(away.message).toMatch(/could not start \(retried\)/)
        expect(await withEnv({ DATABASE_URL: scratch.url, LEAD_SOURCE: "fake" }, attempt)).toBe("ran")
      } finally {
        await scratch.drop()
      }
    })
  } else {
    // The worker's layer speaks to PostgreSQL only (it never opens PGlite); what a schema check
    // finds is the same function on both backends.
    it("missingMigrations names every migration of an empty database and none of a migrated one", async () => {
      const pglite = await PGlite.create()
      const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: makePGlitePool(pglite) }) })
      try {
        expect(await missingMigrations(db)).toEqual(MIGRATIONS)
      } finally {
        await db.destroy()
      }
      const migrated = await Effect.runPromise(
        Effect.flatMap(Database, (d) => Effect.promise(() => missingMigrations(d.kysely))).pipe(Effect.provide(TestDatabase()))
      )
      expect(migrated).toEqual([])
    })
  }
})

describe("the service with NODE_ENV=production", () => {
  it("refuses to start without DATABASE_URL (no embedded database with real credits)", async () => {
    const exit = await buildExit(Database.layer, { NODE_ENV: "production" })
    expect(failureMessage(exit)).toMatch(/DATABASE_URL is required with NODE_ENV=production/)
  })

  it("refuses to start without LEAD_SOURCE; starts with LEAD_SOURCE=fake chosen explicitly", async () => {
    const stagesOn = EventStore.layer().pipe(Layer.provideMerge(TestDatabase()))
    const unset = await buildExit(StagesLive.pipe(Layer.provide(stagesOn)), { NODE_ENV: "production" })
    expect(failureMessage(unset)).toMatch(/LEAD_SOURCE is not set and NODE_ENV=production/)
    const explicit = await buildExit(StagesLive.pipe(Layer.provide(stagesOn)), { NODE_ENV: "production", LEAD_SOURCE: "fake" })
    expect(Exit.isSuccess(explicit)).toBe(true)
  })

  it("without NODE_ENV=production the defaults still work for development", async () => {
    const stagesOn = EventStore.layer().pipe(Layer.provideMerge(TestDatabase()))
    expect(Exit.isSuccess(await buildExit(StagesLive.pipe(Layer.provide(stagesOn)), {}))).toBe(true)
  })

  it("a worker layer never migrates and never opens PGlite: no DATABASE_URL is a ConfigError even with PGLITE_DATA_DIR", async () => {
    const exit = await buildExit(WorkerServicesLive, { PGLITE_DATA_DIR: "memory", LEAD_SOURCE: "fake" })
    expect(failureMessage(exit)).toMatch(/DATABASE_URL is not set for this Trigger\.dev task/)
  })
})
