/**
 * The one place where database promises enter Effect.
 *
 * Two backends, one code path: postgres.js (through kysely-postgres-js) when
 * DATABASE_URL is set, embedded PGlite otherwise (loaded only then). Both get the same
 * migrations and the same Kysely queries. A transaction follows the fiber: inside
 * `transaction(effect)` every `query` runs on that transaction, and a failure or an
 * interruption rolls all of it back; a serialization conflict re-runs it from the start.
 */
import { Config, Context, Effect, Exit, Layer, Option, Schedule, Schema } from "effect"
import { Kysely, PostgresDialect, type Transaction } from "kysely"
import { spawn } from "node:child_process"
import { existsSync, mkdirSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import postgres from "postgres"
import { collectGarbage } from "../collectGarbage.ts"
import { configError, productionConfig, setting } from "../config.ts"
import { missingMigrations, migrateToLatest } from "./migrate.ts"
import { makePGlitePool } from "./pglite-pool.ts"
import { PlanKeepingDialect } from "./planKeepingDialect.ts"
import { guardPool } from "./postgres-pool.ts"
import type { DB } from "./schema.ts"

/**
 * What kind of failure a statement met, which decides who may retry it:
 * - `connection`: the database is unreachable or went away — retry later (the stage's backoff).
 * - `serialization`: a race another transaction won (serialization failure, deadlock, two
 *   appends of one event id) — re-run the whole transaction at once.
 * - `constraint` / `data`: the statement can never succeed as it is — permanent.
 * - `other`: anything else (a bug, a missing table) — permanent.
 */
export type SqlFailureKind = "connection" | "serialization" | "constraint" | "data" | "other"

/** A failed statement. `retryable` marks failures a retry can heal (lost connections, races). */
export class SqlError extends Schema.TaggedError<SqlError>()("SqlError", {
  message: Schema.String,
  code: Schema.optional(Schema.String),
  constraint: Schema.optional(Schema.String),
  kind: Schema.Literals(["connection", "serialization", "constraint", "data", "other"]),
  retryable: Schema.Boolean,
  cause: Schema.Defect()
}) {}

/** The unique index behind idempotent appends: losing a race on it means "already appended". */
export const EVENT_ID_CONSTRAINT = "events_event_id_key"

/** Driver and socket codes of a connection that failed or went away (postgres.js, Node, our pool's wait). */
const connectionCodes = new Set([
  "CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "CONNECT_TIMEOUT", "POOL_TIMEOUT",
  "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "EAI_AGAIN", "ENETUNREACH"
])

/** The kind of failure of a driver error, from its SQLSTATE (or the driver's code). */
export const failureKind = (code: string | undefined, constraint: string | undefined): SqlFailureKind => {
  if (code === undefined) return "other"
  if (connectionCodes.has(code)) return "connection"
  // 08: connection exception; 57P01-03: shutdown / starting up; 53: out of connections or resources;
  // 57014: statement timeout; 55P03: lock not available; 3D000: the database does not exist (dropped,
  // or not restored yet) — like a stopped server, nothing can be read or written until it is back.
  if (
    code.startsWith("08") || /^57P0[123]$/.test(code) || code.startsWith("53") || code === "57014" || code === "55P03" ||
    code === "3D000"
  ) {
    return "connection"
  }
  if (code === "40001" || code === "40P01") return "serialization"
  if (code === "23505" && constraint === EVENT_ID_CONSTRAINT) return "serialization"
  if (code.startsWith("23")) return "constraint"
  if (code.startsWith("22")) return "data"
  return "other"
}

export const toSqlError = (cause: unknown): SqlError => {
  if (cause instanceof SqlError) return cause
  const e = (cause ?? {}) as { message?: unknown; code?: unknown; constraint?: unknown; constraint_name?: unknown }
  const code = typeof e.code === "string" ? e.code : undefined
  const constraint = typeof e.constraint_name === "string"
    ? e.constraint_name
    : typeof e.constraint === "string"
    ? e.constraint
    : undefined
  const kind = failureKind(code, constraint)
  return new SqlError({
    message: typeof e.message === "string" ? e.message : String(cause),
    code,
    constraint,
    kind,
    retryable: kind === "connection" || kind === "serialization",
    cause
  })
}

/**
 * True when `failure` (or what caused it, a few levels down) is a database that cannot be reached
 * right now: the HTTP edge answers 503 SERVICE_UNAVAILABLE for it.
 */
export const isDatabaseUnavailable = (failure: unknown): boolean => {
  for (let e: any = failure, depth = 0; e !== undefined && e !== null && depth < 8; e = e.cause, depth++) {
    if (e instanceof SqlError && e.kind === "connection") return true
  }
  return false
}

/** A race another transaction won: re-running the transaction decides again on what it committed. */
export const isSerializationConflict = (e: unknown): boolean => e instanceof SqlError && e.kind === "serialization"

/** The database's schema is behind this code: the service (which migrates) must be deployed first. */
export class SchemaBehind extends Schema.TaggedError<SchemaBehind>()("SchemaBehind", {
  missing: Schema.Array(Schema.String)
}) {
  override get message() {
    return `the database schema is behind this code: migrations ${this.missing.join(", ")} have not run. ` +
      "Task workers never migrate: deploy (start) the service first, it applies the migrations."
  }
}

/** Either the root connection pool or the transaction the current fiber runs in. */
export type Executor = Kysely<DB> | Transaction<DB>

/** The transaction the current fiber runs in, if any. */
const CurrentTransaction = Context.Reference<Option.Option<Transaction<DB>>>("app/db/CurrentTransaction", {
  defaultValue: () => Option.none()
})

export type Backend = "postgres" | "pglite"

/** How a postgres.js pool is sized and whether it migrates (the service) or only checks (task workers). */
export interface PostgresOptions {
  /** Connections at most; default 10. */
  readonly max?: number
  /** Seconds an idle connection is kept before it is closed; default 30. */
  readonly idleTimeoutSeconds?: number
  /** How long opening a connection may take (TCP, TLS, start-up); default 5,000 ms. */
  readonly connectTimeoutMs?: number
  /** How long a query or transaction waits for a connection of the pool; default 10,000 ms. */
  readonly acquireTimeoutMs?: number
  /** `apply` (default) runs pending migrations; `check` fails with SchemaBehind if any is pending. */
  readonly migrations?: "apply" | "check"
}

export class Database extends Context.Service<Database, {
  readonly backend: Backend
  /** Runs a Kysely query on the current transaction, or on the pool outside one. */
  query<A>(f: (db: Executor) => Promise<A>): Effect.Effect<A, SqlError>
  /**
   * Runs `effect` in one transaction (joining the current one if there is one). The outermost
   * transaction is re-run from the start when it loses a race (serialization conflict).
   */
  transaction<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | SqlError, R>
  /** True while the current fiber is inside a transaction. */
  readonly inTransaction: Effect.Effect<boolean>
  /** Runs `effect` on the pool, outside the current transaction (a read forked beside it). */
  outsideTransaction<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R>
  /** The root Kysely instance, for tooling (migrations, benchmarks); application code uses `query`. */
  readonly kysely: Kysely<DB>
}>()("app/db/Database") {
  /** postgres.js pool against `url`. */
  static readonly layerPostgres = (url: string, options: PostgresOptions = {}) =>
    Layer.effect(Database, acquire(() => postgresKysely(url, options), "postgres", options.migrations ?? "apply"))

  /** Embedded PGlite; `dataDir` undefined means in-memory. `loadDataDir` starts from a dump. */
  static readonly layerPGlite = (options: { readonly dataDir?: string; readonly loadDataDir?: Blob } = {}) =>
    Layer.effect(Database, acquire(() => pgliteKysely(options), "pglite", "apply"))

  /**
   * DATABASE_URL when set (pool size DATABASE_POOL_MAX, default 10), else PGlite persisted under
   * PGLITE_DATA_DIR (default .data/pglite). With NODE_ENV=production DATABASE_URL is required.
   */
  static readonly layer = Layer.unwrap(Effect.gen(function*() {
    const url = yield* setting("DATABASE_URL")
    if (Option.isSome(url)) {
      const max = yield* Config.Int("DATABASE_POOL_MAX").pipe(Config.withDefault(10))
      return Database.layerPostgres(url.value, { max, ...yield* outageBounds })
    }
    if (yield* productionConfig) {
      return yield* Effect.fail(configError(
        "DATABASE_URL is required with NODE_ENV=production: the embedded PGlite database is for development " +
          "(it would keep real users' credits in a local directory of one process). Set DATABASE_URL to the service's PostgreSQL."
      ))
    }
    const dataDir = yield* Config.String("PGLITE_DATA_DIR").pipe(Config.withDefault(".data/pglite"))
    return Database.layerPGlite({ dataDir: dataDir === "memory" ? undefined : dataDir })
  }))

  /**
   * A Trigger.dev task worker's database: DATABASE_URL is required (a worker must never open an
   * embedded database of its own), a small pool that closes idle connections (each run may be a
   * new process), and the schema is checked, never migrated.
   */
  static readonly layerWorker = Layer.unwrap(Effect.gen(function*() {
    const url = yield* setting("DATABASE_URL")
    if (Option.isNone(url)) {
      return yield* Effect.fail(configError(
        "DATABASE_URL is not set for this Trigger.dev task: set it in the project's environment variables to the " +
          "service's PostgreSQL. Tasks never fall back to an embedded database (the import would run on an empty one)."
      ))
    }
    const max = yield* Config.Int("DATABASE_POOL_MAX").pipe(Config.withDefault(2))
    return Database.layerPostgres(url.value, { max, idleTimeoutSeconds: 10, migrations: "check", ...yield* outageBounds })
  }))
}

/**
 * DATABASE_CONNECT_TIMEOUT_MS (5 s: a connection on a LAN or in one cloud region opens in
 * milliseconds, TLS included, so 5 s only ever cuts a host that does not answer) and
 * DATABASE_ACQUIRE_TIMEOUT_MS (10 s: two connect attempts; a pool busy that long is as good as
 * down). A request that needs the database is answered within about that while it is away.
 */
const outageBounds = Effect.gen(function*() {
  const connectTimeoutMs = yield* Config.Int("DATABASE_CONNECT_TIMEOUT_MS").pipe(Config.withDefault(5_000))
  const acquireTimeoutMs = yield* Config.Int("DATABASE_ACQUIRE_TIMEOUT_MS").pipe(Config.withDefault(10_000))
  return { connectTimeoutMs, acquireTimeoutMs }
})

/**
 * How long closing the pool waits for its connections to end. By then the service's fibers are
 * interrupted (their transactions committed or rolled back), so nothing it needs is in flight;
 * what can still be waited for is a connection postgres.js never settles — one that died with a
 * statement on it, after an outage — which it would wait for forever. A connection cut here loses
 * nothing: PostgreSQL rolls back whatever it had open.
 */
const POOL_END_TIMEOUT_SECONDS = 0.5

const postgresKysely = async (url: string, options: PostgresOptions) =>
  new Kysely<DB>({
    dialect: new PlanKeepingDialect({
      postgres: guardPool(
        postgres(url, {
          max: options.max ?? 10,
          idle_timeout: options.idleTimeoutSeconds ?? 30,
          connect_timeout: (options.connectTimeoutMs ?? 5_000) / 1000,
          // After a failed connect postgres.js waits before the next try on that connection: by
          // default up to 20 s (3^failures / 100 s), which made every request of an outage wait for
          // a connection, and recovery take as long. 10 ms doubling, at most 250 ms: a database
          // that is back is used at once, and one that is away still sees few attempts (the pool's).
          backoff: (failures: number) => Math.min(0.01 * 2 ** failures, 0.25),
          onnotice: () => {},
          // No JIT: PostgreSQL compiles a statement whose estimated cost passes jit_above_cost anew on
          // every execution (10–200 ms), and the service's statements are short or bounded batches
          // that never earn it back. The engine's sweep over 30,000 queued runs: 206 ms with it, 19 without.
          connection: { jit: "off" },
          // int8 as number (positions, counts) so both backends return the same shapes.
          types: {
            int8: { to: 20, from: [20], serialize: (x: number | bigint) => String(x), parse: (x: string) => Number(x) }
          }
        }),
        { acquireTimeoutMs: options.acquireTimeoutMs ?? 10_000, endTimeoutSeconds: POOL_END_TIMEOUT_SECONDS }
      )
    })
  })

const pgliteKysely = async (options: { readonly dataDir?: string; readonly loadDataDir?: Blob }) => {
  // Loaded only when used: a PostgreSQL deployment never pays for the WebAssembly build.
  const { PGlite } = await import("@electric-sql/pglite")
  if (options.dataDir !== undefined) {
    mkdirSync(options.dataDir, { recursive: true })
    if (!existsSync(join(options.dataDir, "PG_VERSION"))) await createInChild(options.dataDir)
  }
  const pglite = await PGlite.create({
    // PostgreSQL's default 128 MB of shared buffers would sit in the WebAssembly heap for good; the
    // data directory is already cached by the OS (or is memory itself), so 16 MB does (~60 MB less RSS).
    startParams: [...PGlite.defaultStartParams, "-c", "shared_buffers=16MB"],
    ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
    ...(options.loadDataDir !== undefined ? { loadDataDir: options.loadDataDir } : {})
  })
  // In memory, initdb ran here, in a WebAssembly instance of its own: garbage once done, but V8
  // does not feel the weight of its heap (~250 MB) and may keep it for a long time.
  if (options.dataDir === undefined && options.loadDataDir === undefined) collectGarbage()
  return new Kysely<DB>({ dialect: new PostgresDialect({ pool: makePGlitePool(pglite) }) })
}

/**
 * Creates the database in `dataDir` in a process of its own (src/db/pgliteCreate.ts): initdb's
 * memory leaves with that process. In this one a first start idled at ~600 MB of RSS, ~390 MB after
 * a full collection, against ~250 MB for a start over an existing directory.
 */
const createInChild = (dataDir: string) =>
  new Promise<void>((resolve, reject) => {
    const script = fileURLToPath(new URL("./pgliteCreate.ts", import.meta.url))
    const child = spawn(process.execPath, [script, dataDir], { stdio: ["ignore", "ignore", "pipe"] })
    let stderr = ""
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    child.on("error", reject)
    child.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`creating the PGlite database in ${dataDir} failed (exit ${code}): ${stderr.trim()}`)))
  })

const acquire = (connect: () => Promise<Kysely<DB>>, backend: Backend, migrations: "apply" | "check") =>
  Effect.gen(function*() {
    const kysely = yield* Effect.acquireRelease(
      Effect.tryPromise({ try: connect, catch: toSqlError }),
      (db) => Effect.promise(() => db.destroy())
    )
    if (migrations === "apply") {
      yield* Effect.tryPromise({ try: () => migrateToLatest(kysely), catch: toSqlError })
    } else {
      const missing = yield* Effect.tryPromise({ try: () => missingMigrations(kysely), catch: toSqlError })
      if (missing.length > 0) return yield* new SchemaBehind({ missing })
    }
    return makeDatabase(kysely, backend)
  })

/** How often a transaction that lost a race is re-run before its failure is returned. */
const SERIALIZATION_RETRIES = 5

export const makeDatabase = (kysely: Kysely<DB>, backend: Backend): Database["Service"] => {
  const query = <A>(f: (db: Executor) => Promise<A>) =>
    Effect.flatMap(CurrentTransaction, (trx) =>
      Effect.tryPromise({
        try: () => f(Option.getOrElse(trx, () => kysely)),
        catch: toSqlError
      }))

  const once = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | SqlError, R> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        // BEGIN comes with the setting that keeps the transaction's plans (PlanKeepingDialect; the PGlite pool).
        const trx = yield* Effect.tryPromise({ try: () => kysely.startTransaction().execute(), catch: toSqlError })
        const exit = yield* Effect.exit(restore(Effect.provideService(effect, CurrentTransaction, Option.some(trx))))
        if (Exit.isFailure(exit)) {
          yield* Effect.promise(() => trx.rollback().execute().catch(() => undefined))
          return yield* exit
        }
        yield* Effect.tryPromise({ try: () => trx.commit().execute(), catch: toSqlError }).pipe(
          Effect.tapError(() => Effect.promise(() => trx.rollback().execute().catch(() => undefined)))
        )
        return exit.value
      })
    )

  const transaction = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | SqlError, R> =>
    Effect.flatMap(CurrentTransaction, (current) =>
      Option.isSome(current)
        ? effect
        : once(effect).pipe(Effect.retry({
          while: isSerializationConflict,
          times: SERIALIZATION_RETRIES,
          schedule: Schedule.exponential("2 millis").pipe(Schedule.jittered)
        })))

  return Database.of({
    backend,
    query,
    transaction,
    inTransaction: Effect.map(CurrentTransaction, Option.isSome),
    outsideTransaction: (effect) => Effect.provideService(effect, CurrentTransaction, Option.none()),
    kysely
  })
}
