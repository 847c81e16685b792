/**
 * The one place where database promises enter Effect.
 *
 * Two backends, one code path: postgres.js (through kysely-postgres-js) when
 * DATABASE_URL is set, embedded PGlite otherwise. Both get the same migrations at
 * start-up and the same Kysely queries. A transaction follows the fiber: inside
 * `transaction(effect)` every `query` runs on that transaction, and a failure or an
 * interruption rolls all of it back.
 */
import { PGlite } from "@electric-sql/pglite"
import { Config, Context, Effect, Exit, Layer, Option, Schema } from "effect"
import { Kysely, PostgresDialect, type Transaction } from "kysely"
import { PostgresJSDialect } from "kysely-postgres-js"
import { mkdirSync } from "node:fs"
import postgres from "postgres"
import { migrateToLatest } from "./migrate.ts"
import { makePGlitePool } from "./pglite-pool.ts"
import type { DB } from "./schema.ts"

/** A failed statement. `retryable` marks failures a retry can heal (races, lost connections). */
export class SqlError extends Schema.TaggedError<SqlError>()("SqlError", {
  message: Schema.String,
  code: Schema.optional(Schema.String),
  constraint: Schema.optional(Schema.String),
  retryable: Schema.Boolean,
  cause: Schema.Defect()
}) {}

/** SQLSTATEs worth a retry: serialization failure, deadlock, unique race, connection loss, admin shutdown. */
const retryableCodes = new Set(["40001", "40P01", "23505", "57P01", "08000", "08003", "08006", "ECONNRESET", "CONNECTION_CLOSED"])

export const toSqlError = (cause: unknown): SqlError => {
  const e = (cause ?? {}) as { message?: unknown; code?: unknown; constraint?: unknown; constraint_name?: unknown }
  const code = typeof e.code === "string" ? e.code : undefined
  const constraint = typeof e.constraint_name === "string"
    ? e.constraint_name
    : typeof e.constraint === "string"
    ? e.constraint
    : undefined
  return new SqlError({
    message: typeof e.message === "string" ? e.message : String(cause),
    code,
    constraint,
    retryable: code !== undefined && retryableCodes.has(code),
    cause
  })
}

/** Either the root connection pool or the transaction the current fiber runs in. */
export type Executor = Kysely<DB> | Transaction<DB>

/** The transaction the current fiber runs in, if any. */
const CurrentTransaction = Context.Reference<Option.Option<Transaction<DB>>>("app/db/CurrentTransaction", {
  defaultValue: () => Option.none()
})

export type Backend = "postgres" | "pglite"

export class Database extends Context.Service<Database, {
  readonly backend: Backend
  /** Runs a Kysely query on the current transaction, or on the pool outside one. */
  query<A>(f: (db: Executor) => Promise<A>): Effect.Effect<A, SqlError>
  /** Runs `effect` in one transaction (joining the current one if there is one). */
  transaction<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | SqlError, R>
  /** True while the current fiber is inside a transaction. */
  readonly inTransaction: Effect.Effect<boolean>
  /** The root Kysely instance, for tooling (migrations, benchmarks); application code uses `query`. */
  readonly kysely: Kysely<DB>
}>()("app/db/Database") {
  /** postgres.js pool against `url`. */
  static readonly layerPostgres = (url: string, options: { readonly max?: number } = {}) =>
    Layer.effect(Database, acquire(() => postgresKysely(url, options.max ?? 10), "postgres"))

  /** Embedded PGlite; `dataDir` undefined means in-memory. `loadDataDir` starts from a dump. */
  static readonly layerPGlite = (options: { readonly dataDir?: string; readonly loadDataDir?: Blob } = {}) =>
    Layer.effect(Database, acquire(() => pgliteKysely(options), "pglite"))

  /** DATABASE_URL when set, else PGlite persisted under PGLITE_DATA_DIR (default .data/pglite). */
  static readonly layer = Layer.unwrap(Effect.gen(function*() {
    const url = yield* Config.option(Config.String("DATABASE_URL"))
    if (Option.isSome(url) && url.value !== "") return Database.layerPostgres(url.value)
    const dataDir = yield* Config.String("PGLITE_DATA_DIR").pipe(Config.withDefault(".data/pglite"))
    return Database.layerPGlite({ dataDir: dataDir === "memory" ? undefined : dataDir })
  }))
}

const postgresKysely = async (url: string, max: number) =>
  new Kysely<DB>({
    dialect: new PostgresJSDialect({
      postgres: postgres(url, {
        max,
        onnotice: () => {},
        // int8 as number (positions, counts) so both backends return the same shapes.
        types: {
          int8: { to: 20, from: [20], serialize: (x: number | bigint) => String(x), parse: (x: string) => Number(x) }
        }
      })
    })
  })

const pgliteKysely = async (options: { readonly dataDir?: string; readonly loadDataDir?: Blob }) => {
  if (options.dataDir !== undefined) mkdirSync(options.dataDir, { recursive: true })
  const pglite = await PGlite.create({
    ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
    ...(options.loadDataDir !== undefined ? { loadDataDir: options.loadDataDir } : {})
  })
  return new Kysely<DB>({ dialect: new PostgresDialect({ pool: makePGlitePool(pglite) }) })
}

const acquire = (connect: () => Promise<Kysely<DB>>, backend: Backend) =>
  Effect.gen(function*() {
    const kysely = yield* Effect.acquireRelease(
      Effect.tryPromise({ try: connect, catch: toSqlError }),
      (db) => Effect.promise(() => db.destroy())
    )
    yield* Effect.tryPromise({ try: () => migrateToLatest(kysely), catch: toSqlError })
    return makeDatabase(kysely, backend)
  })

export const makeDatabase = (kysely: Kysely<DB>, backend: Backend): Database["Service"] => {
  const query = <A>(f: (db: Executor) => Promise<A>) =>
    Effect.flatMap(CurrentTransaction, (trx) =>
      Effect.tryPromise({
        try: () => f(Option.getOrElse(trx, () => kysely)),
        catch: toSqlError
      }))

  const transaction = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | SqlError, R> =>
    Effect.flatMap(CurrentTransaction, (current) =>
      Option.isSome(current)
        ? effect
        : Effect.uninterruptibleMask((restore) =>
          Effect.gen(function*() {
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
        ))

  return Database.of({
    backend,
    query,
    transaction,
    inTransaction: Effect.map(CurrentTransaction, Option.isSome),
    kysely
  })
}
