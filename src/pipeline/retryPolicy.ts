/**
 * How stages are retried, the same for both engines: transient failures (429, 5xx,
 * network, database hiccups) with exponential backoff — never sooner than the
 * provider's Retry-After — up to `maxAttempts`; permanent ones not at all. The
 * Trigger.dev tasks declare the same numbers as their `retry` option.
 *
 * A database that is still unreachable after the last attempt does not end the import (its
 * outage says nothing about the search): the failure stays transient, the run stops, and the
 * local engine resumes it from its events once the database is back.
 */
import { Effect } from "effect"
import { failureKind } from "../db/Database.ts"
import { StageFailed } from "./StageFailed.ts"

export interface RetryPolicy {
  readonly maxAttempts: number
  readonly factor: number
  readonly minTimeoutInMs: number
  readonly maxTimeoutInMs: number
}

export const STAGE_RETRY: RetryPolicy = { maxAttempts: 8, factor: 2, minTimeoutInMs: 250, maxTimeoutInMs: 15_000 }

/** The delay before attempt `attempt + 1` (attempt is 1-based), with ±25% jitter. */
export const backoff = (policy: RetryPolicy, attempt: number, retryAfterMs = 0): number => {
  const base = Math.min(policy.maxTimeoutInMs, policy.minTimeoutInMs * policy.factor ** (attempt - 1))
  return Math.max(retryAfterMs, Math.round(base * (0.75 + Math.random() * 0.5)))
}

/** The stage failed because the database could not be reached (its code is `sql_<driver code>`). */
export const databaseAway = (e: StageFailed): boolean =>
  e.code.startsWith("sql_") && failureKind(e.code.slice(4), undefined) === "connection"

/**
 * Retries transient failures of `stage`; what is still failing after the last attempt becomes
 * permanent, unless the database is away (then it stays transient).
 */
export const withRetry = (policy: RetryPolicy = STAGE_RETRY) => <A, R>(stage: Effect.Effect<A, StageFailed, R>) => {
  const attempt = (n: number): Effect.Effect<A, StageFailed, R> =>
    Effect.catchTag(stage, "StageFailed", (e) => {
      if (e.kind === "permanent") return Effect.fail(e)
      if (n >= policy.maxAttempts) {
        if (databaseAway(e)) return Effect.fail(e)
        return Effect.fail(new StageFailed({
          stage: e.stage,
          kind: "permanent",
          code: "retries_exhausted",
          message: `${e.stage} gave up after ${n} attempts: ${e.message}`
        }))
      }
      return Effect.andThen(Effect.sleep(backoff(policy, n, e.retryAfterMs)), attempt(n + 1))
    })
  return attempt(1)
}
