/**
 * Model-based test: random sequences of appends — several streams, every kind of
 * expected version (right and wrong), retried batches, reused ids with other content,
 * partial retries — must give exactly the outcomes a small in-memory model predicts,
 * and leave the store holding exactly what the model holds.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import fc from "fast-check"
import { CreditsGranted } from "../../events/index.ts"
import { EventStore, type ExpectedVersion } from "../../src/eventstore/EventStore.ts"
import { TestDatabase } from "../support/db.ts"
import { eventually } from "../support/eventually.ts"

interface ModelEvent {
  readonly id: string
  readonly amount: number
}
type Outcome = "appended" | "alreadyAppended" | "wrongVersion" | "idempotencyConflict"

/** The whole store, as the model sees it: events per stream plus where each id lives. */
class Model {
  readonly streams = new Map<string, Array<ModelEvent>>()
  readonly ids = new Map<string, { stream: string; index: number }>()
  readonly log: Array<ModelEvent & { stream: string }> = []

  version(stream: string) {
    return this.streams.get(stream)?.length ?? 0
  }

  append(stream: string, events: ReadonlyArray<ModelEvent>, expected: ExpectedVersion): { outcome: Outcome; version: number } {
    const known = events.map((e) => this.ids.get(e.id))
    if (known.some((k) => k !== undefined)) {
      const same = known.every((k, i) =>
        k !== undefined && k.stream === stream && this.streams.get(stream)![k.index]!.amount === events[i]!.amount &&
        (i === 0 || k.index === known[i - 1]!.index + 1)
      )
      return same
        ? { outcome: "alreadyAppended", version: known[known.length - 1]!.index + 1 }
        : { outcome: "idempotencyConflict", version: this.version(stream) }
    }
    const current = this.version(stream)
    const ok = expected === "any" ||
      (expected === "no-stream" && current === 0) ||
      (expected === "exists" && current > 0) ||
      (typeof expected === "number" && expected === current)
    if (!ok) return { outcome: "wrongVersion", version: current }
    const list = this.streams.get(stream) ?? []
    for (const e of events) {
      this.ids.set(e.id, { stream, index: list.length })
      list.push(e)
      this.log.push({ ...e, stream })
    }
    this.streams.set(stream, list)
    return { outcome: "appended", version: list.length }
  }
}

type IdChoice = { kind: "fresh" } | { kind: "retry"; of: number } | { kind: "partial"; of: number } | { kind: "reuseOtherContent"; of: number }

const command = fc.record({
  stream: fc.integer({ min: 0, max: 2 }),
  amounts: fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 3 }),
  expected: fc.oneof(
    fc.constantFrom<ExpectedVersion>("any", "no-stream", "exists"),
    fc.constant("current" as const),
    fc.integer({ min: 0, max: 6 })
  ),
  ids: fc.oneof(
    { weight: 4, arbitrary: fc.constant<IdChoice>({ kind: "fresh" }) },
    { weight: 2, arbitrary: fc.nat().map<IdChoice>((of) => ({ kind: "retry", of })) },
    { weight: 1, arbitrary: fc.nat().map<IdChoice>((of) => ({ kind: "partial", of })) },
    { weight: 1, arbitrary: fc.nat().map<IdChoice>((of) => ({ kind: "reuseOtherContent", of })) }
  )
})

layer(EventStore.layer().pipe(Layer.provideMerge(TestDatabase())), { excludeTestServices: true })("event store model", (it) => {
  it.effect("random append sequences agree with the in-memory model", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(Effect.result(effect))

      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 25 }), async (commands) => {
            const model = new Model()
            const category = `model${crypto.randomUUID().replace(/-/g, "")}`
            const streamName = (i: number) => `${category}-s${i}`
            const batches: Array<{ stream: string; events: Array<ModelEvent> }> = []

            for (const c of commands) {
              let stream = streamName(c.stream)
              let events: Array<ModelEvent> = c.amounts.map((amount) => ({ id: crypto.randomUUID(), amount }))
              const earlier = batches.length > 0 && c.ids.kind !== "fresh" ? batches[c.ids.of % batches.length] : undefined
              if (earlier && c.ids.kind === "retry") {
                stream = earlier.stream
                events = earlier.events
              } else if (earlier && c.ids.kind === "partial") {
                events = [earlier.events[0]!, ...events]
              } else if (earlier && c.ids.kind === "reuseOtherContent") {
                events = earlier.events.map((e) => ({ id: e.id, amount: e.amount + 1 }))
              }
              const expected: ExpectedVersion = c.expected === "current" ? model.version(stream) : c.expected

              const predicted = model.append(stream, events, expected)
              const actual = await run(store.append(
                stream,
                events.map((e) => new CreditsGranted({ userId: "model", amount: e.amount, reason: "model" })),
                { expectedVersion: expected, eventIds: events.map((e) => e.id) }
              ))
              const outcome: Outcome = actual._tag === "Success"
                ? actual.success.alreadyAppended ? "alreadyAppended" : "appended"
                : actual.failure._tag === "WrongExpectedVersion"
                ? "wrongVersion"
                : actual.failure._tag === "IdempotencyConflict"
                ? "idempotencyConflict"
                : (() => {
                  throw actual.failure
                })()
              expect(outcome).toBe(predicted.outcome)
              if (actual._tag === "Success") expect(actual.success.version).toBe(predicted.version)
              if (actual._tag === "Failure" && actual.failure._tag === "WrongExpectedVersion") {
                expect(actual.failure.actual).toBe(predicted.version)
              }
              if (predicted.outcome === "appended") batches.push({ stream, events })
            }

            // The store holds exactly the model: per stream, and in global order.
            for (let i = 0; i < 3; i++) {
              const read = await Effect.runPromise(store.readStream(streamName(i)))
              expect(read.map((e) => [e.eventId, e.version, (e.event as CreditsGranted).amount])).toEqual(
                (model.streams.get(streamName(i)) ?? []).map((e, index) => [e.id, index + 1, e.amount])
              )
            }
            const all = await Effect.runPromise(
              eventually(store.readAll({ category, limit: 10_000 }), (r) => r.events.length >= model.log.length)
            )
            expect(all.events.map((e) => [e.eventId, e.streamId])).toEqual(model.log.map((e) => [e.id, e.stream]))
          }),
          { numRuns: 40 }
        )
      )
    }))
})
