/**
 * How a stage reports that it did not complete, for both engines: `transient` is worth
 * retrying (after `retryAfterMs` when the provider said so), `permanent` ends the import.
 * A database failure is transient only when the connection failed or a race was lost;
 * a constraint or data error can never succeed by retrying.
 */
import { Effect, Schema } from "effect"
import { SqlError } from "../db/Database.ts"

export type StageName = "start" | "fetch-page" | "dedupe" | "persist-batch" | "refund-unused-credits" | "finish" | "cancel"

export class StageFailed extends Schema.TaggedError<StageFailed>()("StageFailed", {
  stage: Schema.String,
  kind: Schema.Literals(["transient", "permanent"]),
  code: Schema.String,
  message: Schema.String,
  retryAfterMs: Schema.optional(Schema.Number)
}) {}

/** A stage's SQL failures as StageFailed: retryable ones transient, the rest permanent. */
export const sqlFailures = (stage: StageName) => <A, E, R>(self: Effect.Effect<A, E | SqlError, R>) =>
  Effect.mapError(self, (e) =>
    e instanceof SqlError
      ? new StageFailed({
        stage,
        kind: e.retryable ? "transient" : "permanent",
        code: `sql_${e.code ?? e.kind}`,
        message: e.message
      })
      : e as Exclude<E, SqlError>)
