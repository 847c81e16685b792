/**
 * Polls `effect` until `done` holds (or the time runs out, then returns the last value).
 *
 * Tailing reads are gated by the oldest transaction still running anywhere on the
 * server — other test files' transactions included — so a read right after an append
 * may legitimately return a shorter prefix for a moment.
 */
import { Effect } from "effect"

export const eventually = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  done: (a: A) => boolean,
  options: { readonly timeoutMs?: number; readonly intervalMs?: number } = {}
): Effect.Effect<A, E, R> =>
  Effect.gen(function*() {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000)
    while (true) {
      const value = yield* effect
      if (done(value) || Date.now() > deadline) return value
      yield* Effect.sleep(options.intervalMs ?? 20)
    }
  })
