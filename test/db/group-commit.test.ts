/**
 * src/db/groupCommit.ts against a model: whatever arrives together, every item gets exactly the
 * outcome it would get alone, runs once (never lost, never twice), never shares a batch with an
 * item of one of its keys, and never runs beside one in another batch in flight; the bounds on
 * batches in flight and items a batch hold; a batch that fails is re-run item by item, unless its
 * failure fails them all.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber } from "effect"
import fc from "fast-check"
import { groupCommit } from "../../src/db/groupCommit.ts"

interface Item {
  readonly id: number
  readonly keys: ReadonlyArray<string>
  /** Breaks any statement it is in (a batch's or its own). */
  readonly bad: boolean
}

/** A fake database: counts what runs, checks the key rules, answers `id * 10` or fails for a bad item. */
const harness = (options: { maxInFlight: number; maxBatch: number; downOnBatch?: boolean }) => {
  const ran = new Map<number, number>()
  const batches: Array<ReadonlyArray<number>> = []
  const alone: Array<number> = []
  const running = new Set<string>()
  let inFlight = 0
  let maxSeenInFlight = 0
  const violations: Array<string> = []
  const occupy = (items: ReadonlyArray<Item>) =>
    Effect.acquireUseRelease(
      Effect.sync(() => {
        inFlight++
        maxSeenInFlight = Math.max(maxSeenInFlight, inFlight)
        const keys = items.flatMap((i) => i.keys)
        if (new Set(keys).size !== keys.length) violations.push(`one batch shares a key: ${keys}`)
        for (const key of keys) {
          if (running.has(key)) violations.push(`key ${key} in two batches at once`)
          running.add(key)
        }
      }),
      () => Effect.sleep(`${1 + (items[0]!.id % 3)} millis`),
      () =>
        Effect.sync(() => {
          inFlight--
          for (const key of items.flatMap((i) => i.keys)) running.delete(key)
        })
    )
  const count = (item: Item) => ran.set(item.id, (ran.get(item.id) ?? 0) + 1)
  const run = groupCommit<Item, number, string>({
    maxInFlight: options.maxInFlight,
    maxBatch: options.maxBatch,
    keysOf: (item) => item.keys,
    runBatch: (items) =>
      Effect.gen(function*() {
        batches.push(items.map((i) => i.id))
        yield* occupy(items)
        if (options.downOnBatch) return yield* Effect.fail("down")
        if (items.some((i) => i.bad)) return yield* Effect.fail("batch broken")
        items.forEach(count)
        return items.map((i) => i.id * 10)
      }),
    runAlone: (item) =>
      Effect.gen(function*() {
        alone.push(item.id)
        yield* occupy([item])
        if (options.downOnBatch) return yield* Effect.fail("down")
        if (item.bad) return yield* Effect.fail(`item ${item.id} broken`)
        count(item)
        return item.id * 10
      }),
    failsAll: (cause) => Cause.squash(cause) === "down"
  })
  return { run, ran, batches, alone, violations, maxInFlight: () => maxSeenInFlight }
}

const items = fc.array(
  fc.record({
    keys: fc.uniqueArray(fc.constantFrom("a", "b", "c", "d", "e", "f", "g", "h"), { minLength: 1, maxLength: 2 }),
    bad: fc.integer({ min: 0, max: 9 }).map((n) => n < 2)
  }),
  { minLength: 1, maxLength: 40 }
).map((xs) => xs.map((x, id): Item => ({ id, ...x })))

describe("groupCommit", () => {
  it.live("every item gets its own outcome, once, under the key rules and the bounds", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(items, fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 8 }), async (xs, maxInFlight, maxBatch) => {
          const h = harness({ maxInFlight, maxBatch })
          const exits = await Effect.runPromise(Effect.forEach(xs, (x) => Effect.exit(h.run(x)), { concurrency: "unbounded" }))
          xs.forEach((x, i) => {
            const exit = exits[i]!
            if (x.bad) expect(exit).toEqual(Exit.fail(`item ${x.id} broken`))
            else expect(exit).toEqual(Exit.succeed(x.id * 10))
            // Written once if good, never if bad: a failed batch wrote nothing, its re-run wrote each once.
            expect(h.ran.get(x.id) ?? 0).toBe(x.bad ? 0 : 1)
          })
          expect(h.violations).toEqual([])
          expect(h.maxInFlight()).toBeLessThanOrEqual(maxInFlight)
          for (const batch of h.batches) expect(batch.length).toBeLessThanOrEqual(maxBatch)
        }),
        { numRuns: 60 }
      )
    ))

  it.live("items made together share a batch; one alone goes alone", () =>
    Effect.gen(function*() {
      const h = harness({ maxInFlight: 1, maxBatch: 16 })
      expect(yield* h.run({ id: 1, keys: ["a"], bad: false })).toBe(10)
      expect(h.alone).toEqual([1]) // a batch of one runs alone
      const outcomes = yield* Effect.forEach([2, 3, 4, 5], (id) => h.run({ id, keys: [`k${id}`], bad: false }), {
        concurrency: "unbounded"
      })
      expect(outcomes).toEqual([20, 30, 40, 50])
      expect(h.batches).toEqual([[2, 3, 4, 5]])
      expect(h.alone).toEqual([1])
    }))

  it.live("a failure that fails them all (the database is away) is not re-run item by item", () =>
    Effect.gen(function*() {
      const h = harness({ maxInFlight: 1, maxBatch: 16, downOnBatch: true })
      const exits = yield* Effect.forEach([1, 2, 3], (id) => Effect.exit(h.run({ id, keys: [`k${id}`], bad: false })), {
        concurrency: "unbounded"
      })
      expect(exits).toEqual([Exit.fail("down"), Exit.fail("down"), Exit.fail("down")])
      expect(h.batches).toEqual([[1, 2, 3]])
      expect(h.alone).toEqual([])
      expect(h.ran.size).toBe(0)
    }))

  it.live("an item interrupted while it waits never runs", () =>
    Effect.gen(function*() {
      const h = harness({ maxInFlight: 1, maxBatch: 16 })
      const first = yield* Effect.forkChild(h.run({ id: 1, keys: ["a"], bad: false }))
      yield* Effect.sleep("0 millis")
      // Same key as the one in flight: it waits for it.
      const waiting = yield* Effect.forkChild(h.run({ id: 2, keys: ["a"], bad: false }))
      yield* Effect.sleep("0 millis")
      yield* Fiber.interrupt(waiting)
      expect(yield* Fiber.join(first)).toBe(10)
      yield* Effect.sleep("10 millis")
      expect([...h.ran.keys()]).toEqual([1])
    }))
})
