/**
 * Group commit: appends made together outside a transaction go as one statement and one commit,
 * yet each gets the outcome it would get alone. Rounds of concurrent appends — per stream at most
 * one that moves its version (so the outcome of every other one does not depend on the order the
 * store takes them in), wrong versions, retries of earlier events, partial retries, reused ids
 * with other content, ids of another stream — are checked against a model, and the store must
 * hold exactly the model's events afterwards: none lost, none twice.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import fc from "fast-check"
import { CreditsGranted } from "../../events/index.ts"
import { EventStore, type ExpectedVersion } from "../../src/eventstore/EventStore.ts"
import { TestDatabase } from "../support/db.ts"

interface ModelEvent {
  readonly id: string
  readonly amount: number
}
type Outcome = "appended" | "alreadyAppended" | "wrongVersion" | "idempotencyConflict"

const STREAMS = 4

/** What one append in a round does; `of` picks an earlier append. */
type Kind =
  | { readonly kind: "move"; readonly how: "exact" | "any" | "exists-or-new" }
  | { readonly kind: "wrongVersion"; readonly off: number }
  | { readonly kind: "retry"; readonly of: number }
  | { readonly kind: "partial"; readonly of: number }
  | { readonly kind: "otherContent"; readonly of: number }
  | { readonly kind: "otherStream"; readonly of: number }

const append = fc.record({
  stream: fc.integer({ min: 0, max: STREAMS - 1 }),
  amounts: fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 3 }),
  what: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom("exact", "any", "exists-or-new").map((how): Kind => ({ kind: "move", how })) },
    { weight: 2, arbitrary: fc.integer({ min: 1, max: 3 }).map((off): Kind => ({ kind: "wrongVersion", off })) },
    { weight: 2, arbitrary: fc.nat().map((of): Kind => ({ kind: "retry", of })) },
    { weight: 1, arbitrary: fc.nat().map((of): Kind => ({ kind: "partial", of })) },
    { weight: 1, arbitrary: fc.nat().map((of): Kind => ({ kind: "otherContent", of })) },
    { weight: 1, arbitrary: fc.nat().map((of): Kind => ({ kind: "otherStream", of })) }
  )
})

interface Planned {
  readonly stream: string
  readonly events: ReadonlyArray<ModelEvent>
  readonly expected: ExpectedVersion
  readonly outcome: Outcome
  /** Its version after it (appended, already appended), or what a wrong version may report. */
  readonly versions: ReadonlyArray<number>
}

layer(EventStore.layer().pipe(Layer.provideMerge(TestDatabase({ max: 8 }))), { excludeTestServices: true })("group commit", (it) => {
  it.effect("concurrent appends each get their own outcome; none lost or written twice", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      let sharedTransactions = 0

      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(fc.array(fc.array(append, { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 4 }), async (rounds) => {
            const category = `gc${crypto.randomUUID().replace(/-/g, "")}`
            const name = (i: number) => `${category}-s${i}`
            const streams = new Map<string, Array<ModelEvent>>()
            const appended: Array<{ stream: string; events: ReadonlyArray<ModelEvent> }> = []
            const version = (stream: string) => streams.get(stream)?.length ?? 0

            for (const round of rounds) {
              const moved = new Set<string>()
              const planned: Array<Planned> = []
              for (const a of round) {
                const stream = name(a.stream)
                const fresh = a.amounts.map((amount) => ({ id: crypto.randomUUID(), amount }))
                const current = version(stream)
                const earlier = appended.length > 0 && a.what.kind !== "move" && a.what.kind !== "wrongVersion"
                  ? appended[a.what.of % appended.length]
                  : undefined
                const what = a.what
                if (what.kind === "move" && !moved.has(stream)) {
                  // The one append of this round that moves the stream: its outcome is certain.
                  moved.add(stream)
                  const expected: ExpectedVersion = what.how === "exact" ? current : what.how === "any" ? "any" : current === 0 ? "no-stream" : "exists"
                  planned.push({ stream, events: fresh, expected, outcome: "appended", versions: [current + fresh.length] })
                } else if (earlier && what.kind === "retry") {
                  const stored = streams.get(earlier.stream)!
                  const last = stored.findIndex((e) => e.id === earlier.events[earlier.events.length - 1]!.id) + 1
                  planned.push({ stream: earlier.stream, events: earlier.events, expected: "any", outcome: "alreadyAppended", versions: [last] })
                } else if (earlier && what.kind === "partial") {
                  planned.push({ stream: earlier.stream, events: [earlier.events[0]!, ...fresh], expected: "any", outcome: "idempotencyConflict", versions: [] })
                } else if (earlier && what.kind === "otherContent") {
                  planned.push({
                    stream: earlier.stream,
                    events: earlier.events.map((e) => ({ id: e.id, amount: e.amount + 1 })),
                    expected: "any",
                    outcome: "idempotencyConflict",
                    versions: []
                  })
                } else if (earlier && what.kind === "otherStream") {
                  const other = earlier.stream === name(0) ? name(1) : name(0)
                  planned.push({ stream: other, events: earlier.events, expected: "any", outcome: "idempotencyConflict", versions: [] })
                } else {
                  // Wrong before and after this round's move of the stream, whichever comes first.
                  // (A move adds at most 3 events.)
                  const off = what.kind === "wrongVersion" ? what.off : 1
                  planned.push({ stream, events: fresh, expected: current + 3 + off, outcome: "wrongVersion", versions: [current, current + 1, current + 2, current + 3] })
                }
              }

              // All at once: what the store batches together must still answer each one alone.
              const results = await Effect.runPromise(Effect.forEach(planned, (p) =>
                Effect.result(store.append(
                  p.stream,
                  p.events.map((e) => new CreditsGranted({ userId: "gc", amount: e.amount, reason: "gc" })),
                  { expectedVersion: p.expected, eventIds: p.events.map((e) => e.id) }
                )), { concurrency: "unbounded" }))

              const transactions = new Map<string, Set<string>>()
              planned.forEach((p, i) => {
                const result = results[i]!
                const outcome: Outcome = result._tag === "Success"
                  ? result.success.alreadyAppended ? "alreadyAppended" : "appended"
                  : result.failure._tag === "WrongExpectedVersion"
                  ? "wrongVersion"
                  : result.failure._tag === "IdempotencyConflict"
                  ? "idempotencyConflict"
                  : (() => {
                    throw result.failure
                  })()
                expect(outcome, `${p.stream} ${JSON.stringify(p.expected)}`).toBe(p.outcome)
                if (result._tag === "Failure" && result.failure._tag === "WrongExpectedVersion") {
                  expect(p.versions).toContain(result.failure.actual)
                }
                if (result._tag === "Success") {
                  if (p.outcome === "alreadyAppended") expect(result.success.version).toBe(p.versions[0])
                  expect(result.success.events.map((e) => [e.eventId, e.streamId, (e.event as CreditsGranted).amount])).toEqual(
                    p.events.map((e) => [e.id, p.stream, e.amount])
                  )
                }
                if (result._tag === "Success" && !result.success.alreadyAppended) {
                  const tx = result.success.events[0]!.transactionId
                  transactions.set(tx, (transactions.get(tx) ?? new Set()).add(p.stream))
                }
              })
              for (const set of transactions.values()) if (set.size > 1) sharedTransactions++

              // The model moves by this round's appends; the versions they got follow one another.
              for (const [i, p] of planned.entries()) {
                if (p.outcome !== "appended") continue
                const stored = streams.get(p.stream) ?? []
                stored.push(...p.events)
                streams.set(p.stream, stored)
                appended.push({ stream: p.stream, events: p.events })
                const result = results[i]!
                if (result._tag === "Success") {
                  const versions = result.success.events.map((e) => e.version)
                  expect(versions).toEqual(versions.map((_, j) => versions[0]! + j))
                }
              }
            }

            // The store holds exactly the model: every stream, in order, each event once, no gaps.
            for (let i = 0; i < STREAMS; i++) {
              const read = await Effect.runPromise(store.readStream(name(i)))
              const model = streams.get(name(i)) ?? []
              expect(read.map((e) => e.version)).toEqual(model.map((_, index) => index + 1))
              expect(new Set(read.map((e) => e.eventId))).toEqual(new Set(model.map((e) => e.id)))
              const amounts = new Map(model.map((e) => [e.id, e.amount]))
              for (const e of read) expect((e.event as CreditsGranted).amount).toBe(amounts.get(e.eventId))
            }
          }),
          { numRuns: 30 }
        )
      )
      // Appends to several streams did share a statement and its commit.
      expect(sharedTransactions).toBeGreaterThan(0)
    }))
})
