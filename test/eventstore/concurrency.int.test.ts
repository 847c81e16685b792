/**
 * Concurrency: racing appenders on one stream, and a tailing reader facing a
 * transaction that commits after a later one.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer } from "effect"
import { sql } from "kysely"
import { CreditsGranted } from "../../events/index.ts"
import { Database } from "../../src/db/Database.ts"
import { EventStore, startOfTime } from "../../src/eventstore/EventStore.ts"
import { backend, TestDatabase } from "../support/db.ts"
import { eventually } from "../support/eventually.ts"

const grant = (amount: number) => new CreditsGranted({ userId: "u", amount, reason: "race" })

layer(EventStore.layer().pipe(Layer.provideMerge(TestDatabase({ max: 24 }))), { excludeTestServices: true })("event store under concurrency", (it) => {
  it.effect("20 concurrent appenders: every version written once, losers get WrongExpectedVersion, no gaps", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const streamId = `race-${crypto.randomUUID()}`
      const appenders = 20
      const allRead = yield* Deferred.make<void>()
      let readers = 0
      let firstRoundWinners = 0
      let conflicts = 0

      const appender = (n: number) =>
        Effect.gen(function*() {
          let round = 0
          while (true) {
            const version = yield* store.streamVersion(streamId)
            if (round === 0) {
              // Everyone reads before anyone writes: the first round is a real race.
              if (++readers === appenders) yield* Deferred.succeed(allRead, undefined)
              yield* Deferred.await(allRead)
            }
            const result = yield* Effect.result(store.append(streamId, [grant(n)], { expectedVersion: version }))
            if (result._tag === "Success") {
              if (round === 0) firstRoundWinners++
              return result.success.version
            }
            expect(result.failure._tag).toBe("WrongExpectedVersion")
            conflicts++
            round++
          }
        })

      const versions = yield* Effect.forEach(Array.from({ length: appenders }, (_, i) => i + 1), appender, {
        concurrency: "unbounded"
      })

      expect(firstRoundWinners).toBe(1)
      expect(conflicts).toBeGreaterThanOrEqual(appenders - 1)
      expect([...versions].sort((a, b) => a - b)).toEqual(Array.from({ length: appenders }, (_, i) => i + 1))
      const events = yield* store.readStream(streamId)
      expect(events.map((e) => e.version)).toEqual(Array.from({ length: appenders }, (_, i) => i + 1))
      expect(events.map((e) => (e.event as CreditsGranted).amount).sort((a, b) => a - b)).toEqual(
        Array.from({ length: appenders }, (_, i) => i + 1)
      )
    }))

  describe("a reader never skips an event that commits late", () => {
    it.effect(
      backend === "postgres"
        ? "PostgreSQL: the lower position commits last, the reader waits for it"
        : "PGlite: one connection serialises writers, so a lower position cannot commit last",
      () =>
        Effect.gen(function*() {
          const db = yield* Database
          const store = yield* EventStore
          const category = `late${crypto.randomUUID().replace(/-/g, "")}`
          const firstAppended = yield* Deferred.make<void>()
          const releaseFirst = yield* Deferred.make<void>()

          // Transaction A appends first (lower position) and stays open.
          const a = yield* db.transaction(Effect.gen(function*() {
            yield* store.append(`${category}-a`, [grant(1)], { expectedVersion: "any" })
            yield* Deferred.succeed(firstAppended, undefined)
            yield* Deferred.await(releaseFirst)
          })).pipe(Effect.forkChild)
          yield* Deferred.await(firstAppended)

          // Transaction B appends later (higher position) in its own transaction.
          const b = yield* store.append(`${category}-b`, [grant(2)], { expectedVersion: "any" }).pipe(Effect.forkChild)

          if (backend === "postgres") {
            // B commits while A is still open.
            const bResult = yield* Fiber.join(b)
            const bPosition = bResult.events[0]!.position

            // The hazard is real: a reader that trusts positions alone sees B now...
            const naive = yield* db.query((q) =>
              sql<{ position: number }>`select position from events where category = ${category} order by position`.execute(q)
            )
            expect(naive.rows.map((r) => Number(r.position))).toEqual([bPosition])

            // ...and would checkpoint past A's lower position. Ours hands out nothing yet.
            const early = yield* store.readAll({ category })
            expect(early.events).toEqual([])
            expect(early.checkpoint).toEqual(startOfTime)
          } else {
            // B cannot even start while A holds the only connection.
            yield* Effect.sleep("150 millis")
            expect(b.pollUnsafe()).toBeUndefined()
          }

          yield* Deferred.succeed(releaseFirst, undefined)
          yield* Fiber.join(a)
          yield* Fiber.join(b)

          const all = yield* eventually(store.readAll({ category }), (r) => r.events.length === 2)
          expect(all.events.map((e) => e.streamId)).toEqual([`${category}-a`, `${category}-b`])
          expect(all.events[0]!.position).toBeLessThan(all.events[1]!.position)
        })
    )
  })
})
