/**
 * Two appends of the same event id at the same moment (two engines recording the same
 * stage): the loser does not fail with a unique violation, it reports what the winner
 * recorded — "already appended" for the same content, IdempotencyConflict for another.
 * On PostgreSQL the loser really races (it waits on the stream's row, then hits the
 * unique index, and its transaction is re-run); on PGlite one connection serialises the
 * two, and the answers must be the same.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import { CreditsGranted } from "../../events/index.ts"
import { Database } from "../../src/db/Database.ts"
import { EventStore, makeEventStore } from "../../src/eventstore/EventStore.ts"
import { creditsProjection } from "../../projections/credits.ts"
import { backend, TestDatabase } from "../support/db.ts"

const grant = (amount: number) => new CreditsGranted({ userId: crypto.randomUUID(), amount, reason: "race" })

/** A's append commits only when released; B appends the same id meanwhile. Returns both answers. */
const race = (store: EventStore["Service"], first: CreditsGranted, second: CreditsGranted, secondInOwnTransaction: boolean) =>
  Effect.gen(function*() {
    const db = yield* Database
    const streamId = `credits-${first.userId}`
    const eventId = crypto.randomUUID()
    const options = { expectedVersion: "any" as const, eventIds: [eventId] }
    const appended = yield* Deferred.make<void>()
    const release = yield* Deferred.make<void>()
    const a = yield* db.transaction(Effect.gen(function*() {
      const result = yield* store.append(streamId, [first], options)
      yield* Deferred.succeed(appended, undefined)
      yield* Deferred.await(release)
      return result
    })).pipe(Effect.forkChild)
    yield* Deferred.await(appended)
    const appendB = store.append(streamId, [second], options)
    const b = yield* (secondInOwnTransaction ? db.transaction(appendB) : appendB).pipe(Effect.result, Effect.forkChild)
    // B is under way (on PostgreSQL it waits on the stream's row lock that A holds).
    yield* Effect.sleep("150 millis")
    yield* Deferred.succeed(release, undefined)
    const aResult = yield* Fiber.join(a)
    const bResult = yield* Fiber.join(b)
    const stored = yield* store.readStream(streamId)
    return { aResult, bResult, stored, eventId }
  })

layer(TestDatabase({ max: 6 }), { excludeTestServices: true })(`racing appends of one event id (${backend})`, (it) => {
  for (const inline of [false, true]) {
    describe(inline ? "with an inline projection (each append is a transaction)" : "without projections (each append is one statement)", () => {
      const storeOf = (db: Database["Service"]) => makeEventStore(db, inline ? { inline: [creditsProjection] } : {})

      it.effect("same content: one writes it, the other reports it already appended", () =>
        Effect.gen(function*() {
          const store = storeOf(yield* Database)
          const event = grant(5)
          const { aResult, bResult, stored, eventId } = yield* race(store, event, event, false)
          expect(aResult.alreadyAppended).toBe(false)
          expect(bResult._tag).toBe("Success")
          if (bResult._tag !== "Success") return
          expect(bResult.success.alreadyAppended).toBe(true)
          expect(bResult.success.events.map((e) => e.eventId)).toEqual([eventId])
          expect(stored.map((e) => e.eventId)).toEqual([eventId])
        }))

      it.effect("other content: the loser gets IdempotencyConflict, nothing of it is written", () =>
        Effect.gen(function*() {
          const store = storeOf(yield* Database)
          const first = grant(5)
          const { aResult, bResult, stored } = yield* race(store, first, new CreditsGranted({ ...first, amount: 6 }), false)
          expect(aResult.alreadyAppended).toBe(false)
          expect(bResult._tag === "Failure" && bResult.failure._tag).toBe("IdempotencyConflict")
          expect(stored.map((e) => (e.event as CreditsGranted).amount)).toEqual([5])
        }))

      it.effect("the loser inside a transaction of its own: the transaction is re-run, and reports it already appended", () =>
        Effect.gen(function*() {
          const store = storeOf(yield* Database)
          const event = grant(7)
          const { bResult, stored } = yield* race(store, event, event, true)
          expect(bResult._tag === "Success" && bResult.success.alreadyAppended).toBe(true)
          expect(stored.length).toBe(1)
        }))
    })
  }
})
