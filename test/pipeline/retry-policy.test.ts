/**
 * The stages' retry policy: a transient failure is retried up to maxAttempts, then becomes
 * permanent (the import ends, refunded) — except a database that is still away, which stays
 * transient so the engine resumes the import once it is back instead of failing it. (Live clock:
 * the backoffs here are a few milliseconds.)
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { databaseAway, type RetryPolicy, withRetry } from "../../src/pipeline/retryPolicy.ts"
import { StageFailed } from "../../src/pipeline/StageFailed.ts"

const fast: RetryPolicy = { maxAttempts: 4, factor: 2, minTimeoutInMs: 1, maxTimeoutInMs: 2 }

const alwaysFailing = (code: string) => {
  let attempts = 0
  const stage = Effect.suspend(() => {
    attempts++
    return Effect.fail(new StageFailed({ stage: "persist-batch", kind: "transient", code, message: "down" }))
  })
  return { stage, attempts: () => attempts }
}

describe("withRetry", () => {
  it.live("a provider failure still failing after the last attempt becomes permanent", () =>
    Effect.gen(function*() {
      const s = alwaysFailing("provider_http_503")
      const failure = yield* Effect.flip(withRetry(fast)(s.stage))
      expect(s.attempts()).toBe(4)
      expect(failure).toMatchObject({ kind: "permanent", code: "retries_exhausted" })
    }))

  it.live.each(["sql_ECONNREFUSED", "sql_CONNECTION_CLOSED", "sql_57P01", "sql_POOL_TIMEOUT", "sql_3D000"])(
    "an unreachable database (%s) stays transient after the last attempt",
    (code) =>
      Effect.gen(function*() {
        const s = alwaysFailing(code)
        const failure = yield* Effect.flip(withRetry(fast)(s.stage))
        expect(s.attempts()).toBe(4)
        expect(failure).toMatchObject({ kind: "transient", code })
      })
  )

  it("databaseAway: connection failures of the database only, not its races or constraint errors", () => {
    const failed = (code: string) => new StageFailed({ stage: "dedupe", kind: "transient", code, message: "" })
    expect(databaseAway(failed("sql_ECONNRESET"))).toBe(true)
    expect(databaseAway(failed("sql_40001"))).toBe(false)
    expect(databaseAway(failed("sql_23514"))).toBe(false)
    expect(databaseAway(failed("ECONNREFUSED"))).toBe(false)
  })
})
