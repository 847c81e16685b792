/**
 * How fast one user may start imports: IMPORT_RATE_PER_MINUTE sustained, bursts of up to
 * IMPORT_RATE_BURST. A GCRA (a token bucket kept as one timestamp per user: the theoretical
 * arrival time of the next request) in the database, in one statement, so it holds with any
 * number of service instances and one user's burst never touches another's row. A request
 * over the limit writes nothing; it is answered 429 with when to come back.
 *
 * Defaults: 30 a minute, bursts of 10. An import takes minutes of LinkedIn time and reserves
 * credits, so a person or an agent rarely needs more than a few a minute; a script starting a
 * batch gets its ten at once; a runaway loop is stopped within a second.
 */
import { Config, Context, Effect, Layer, Schema } from "effect"
import { sql } from "kysely"
import { Database, type SqlError } from "../db/Database.ts"

/** The user started imports faster than allowed; `retryAfterSeconds` says when one more is. */
export class ImportRateLimited extends Schema.TaggedError<ImportRateLimited>()("ImportRateLimited", {
  retryAfterSeconds: Schema.Int
}) {}

/** The 429 of a request that must wait `ms` (at least a second, whole seconds). */
export const rateLimited = (ms: number) => new ImportRateLimited({ retryAfterSeconds: Math.max(1, Math.ceil(ms / 1000)) })

export interface RateLimitConfig {
  /** Sustained imports a minute; 0 turns the limit off. */
  readonly perMinute: number
  /** How many may come at once after a quiet while. */
  readonly burst: number
}

export const DEFAULT_RATE_LIMIT: RateLimitConfig = { perMinute: 30, burst: 10 }

export class ImportRateLimit extends Context.Service<ImportRateLimit, {
  /** Takes one import from the user's allowance, or fails with when the next one is allowed. */
  take(userId: string): Effect.Effect<void, ImportRateLimited | SqlError>
  /** The limit, for the import command that takes it in its own statement (start_import). */
  readonly limit: RateLimitConfig
}>()("app/imports/ImportRateLimit") {
  static readonly make = (db: Database["Service"], limit: RateLimitConfig): ImportRateLimit["Service"] => {
    // GCRA: one request every `interval`; up to `tolerance` ahead of schedule (the burst).
    const interval = 60_000 / limit.perMinute
    const tolerance = interval * (limit.burst - 1)
    const take = (userId: string) =>
      Effect.gen(function*() {
        const { rows } = yield* db.query((q) =>
          sql<{ tat: Date }>`
            insert into import_rate_limits as r (user_id, tat)
            values (${userId}::uuid, now() + ${interval}::float8 * interval '1 millisecond')
            on conflict (user_id) do update set tat = greatest(r.tat, now()) + ${interval}::float8 * interval '1 millisecond'
              where greatest(r.tat, now()) - now() <= ${tolerance}::float8 * interval '1 millisecond'
            returning tat`.execute(q)
        )
        if (rows.length > 0) return
        // Over the limit: nothing was written. When will the next request fit?
        const wait = yield* db.query((q) =>
          sql<{ ms: number }>`
            select (extract(epoch from (greatest(tat, now()) - now())) * 1000 - ${tolerance}::float8)::float8 as ms
            from import_rate_limits where user_id = ${userId}::uuid`.execute(q)
        )
        return yield* rateLimited(wait.rows[0]?.ms ?? interval)
      })
    return ImportRateLimit.of({ take: limit.perMinute > 0 ? take : () => Effect.void, limit })
  }

  /** IMPORT_RATE_PER_MINUTE (default 30; 0: no limit) and IMPORT_RATE_BURST (default 10). */
  static readonly layer = Layer.effect(
    ImportRateLimit,
    Effect.gen(function*() {
      const perMinute = yield* Config.schema(Schema.Number.check(Schema.isGreaterThanOrEqualTo(0)), "IMPORT_RATE_PER_MINUTE").pipe(
        Config.withDefault(DEFAULT_RATE_LIMIT.perMinute)
      )
      const burst = yield* Config.schema(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)), "IMPORT_RATE_BURST").pipe(
        Config.withDefault(DEFAULT_RATE_LIMIT.burst)
      )
      return ImportRateLimit.make(yield* Database, { perMinute, burst })
    })
  )
}
