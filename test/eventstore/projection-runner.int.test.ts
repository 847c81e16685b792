/**
 * The async projection runner: exactly-once effects across a crash between handler
 * and checkpoint, compare-and-set on the checkpoint, and one owner at a time.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer } from "effect"
import { sql } from "kysely"
import { CreditsGranted } from "../../events/index.ts"
import { Database } from "../../src/db/Database.ts"
import { EventStore } from "../../src/eventstore/EventStore.ts"
import type { Projection } from "../../src/eventstore/Projection.ts"
import { ProjectionRunner } from "../../src/eventstore/ProjectionRunner.ts"
import { backend, TestDatabase } from "../support/db.ts"
import { eventually } from "../support/eventually.ts"

/** A projection that records every event it applies: a repeat would break the primary key or the count. */
const countingProjection = (name: string, category: string): Projection => ({
  name,
  handles: ["CreditsGranted"],
  tables: ["test_applied", "test_totals"],
  apply: (events) =>
    Effect.gen(function*() {
      const db = yield* Database
      const mine = events.filter((e) => e.streamId.startsWith(`${category}-`))
      if (mine.length === 0) return
      yield* db.query((q) =>
        sql`insert into test_applied (projection, event_id) select ${name}, x::uuid
            from jsonb_array_elements_text(${JSON.stringify(mine.map((e) => e.eventId))}::text::jsonb) x`.execute(q)
      )
      yield* db.query((q) =>
        sql`insert into test_totals (projection, total) values (${name}, ${mine.reduce((s, e) => s + (e.event as CreditsGranted).amount, 0)})
            on conflict (projection) do update set total = test_totals.total + excluded.total`
          .execute(q)
      )
    })
})

const setup = Effect.gen(function*() {
  const db = yield* Database
  yield* db.query((q) => sql`create table if not exists test_applied (projection text, event_id uuid, primary key (projection, event_id))`.execute(q))
  yield* db.query((q) => sql`create table if not exists test_totals (projection text primary key, total int not null)`.execute(q))
})

const appliedCount = (name: string) =>
  Effect.flatMap(Database, (db) =>
    db.query((q) => sql<{ n: number; total: number | null }>`
      select (select count(*)::int from test_applied where projection = ${name}) as n,
             (select total from test_totals where projection = ${name}) as total`.execute(q)))
    .pipe(Effect.map(({ rows }) => rows[0]!))

const appendGrants = (category: string, amounts: ReadonlyArray<number>) =>
  Effect.flatMap(EventStore, (store) =>
    Effect.forEach(amounts, (amount, i) =>
      store.append(`${category}-${i % 3}`, [new CreditsGranted({ userId: "u", amount, reason: "p" })], { expectedVersion: "any" })))

/** Catches up until `n` events are applied: tailing reads may trail other sessions' open transactions. */
const catchUpUntil = (projection: Projection, n: number) =>
  Effect.flatMap(ProjectionRunner, (runner) =>
    eventually(Effect.andThen(runner.catchUp(projection), appliedCount(projection.name)), (c) => c.n >= n))

/** Waits until the tailing reader can see `n` events of `category`. */
const visible = (category: string, n: number) =>
  Effect.flatMap(EventStore, (store) => eventually(store.readAll({ category }), (r) => r.events.length >= n))

const fresh = () => {
  const category = `proj${crypto.randomUUID().replace(/-/g, "").slice(0, 12)}`
  return { category, projection: countingProjection(`counting-${category}`, category) }
}

layer(
  ProjectionRunner.layer.pipe(Layer.provideMerge(EventStore.layer()), Layer.provideMerge(TestDatabase({ max: 8 }))),
  { excludeTestServices: true }
)("projection runner", (it) => {
  it.effect("applies each event exactly once across a crash between handler and checkpoint", () =>
    Effect.gen(function*() {
      yield* setup
      const runner = yield* ProjectionRunner
      const { category, projection } = fresh()
      const amounts = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
      yield* appendGrants(category, amounts)
      yield* visible(category, amounts.length)

      // The process "dies" after the handler wrote its rows, before the checkpoint moved.
      const crashed = yield* Effect.exit(runner.runBatch(projection, { afterApply: Effect.die(new Error("crash")) }))
      expect(Exit.isFailure(crashed)).toBe(true)
      expect(yield* appliedCount(projection.name)).toEqual({ n: 0, total: null })
      expect((yield* runner.status(projection)).checkpoint.position).toBe(0)

      // The restarted runner applies everything once.
      const applied = yield* catchUpUntil(projection, amounts.length)
      expect(applied).toEqual({ n: amounts.length, total: 55 })
      // Running again changes nothing.
      yield* runner.catchUp(projection)
      expect(yield* appliedCount(projection.name)).toEqual({ n: amounts.length, total: 55 })
      expect((yield* runner.status(projection)).lag).toBe(0)
    }))

  it.effect("a checkpoint that moved under the runner makes its batch roll back", () =>
    Effect.gen(function*() {
      yield* setup
      const db = yield* Database
      const runner = yield* ProjectionRunner
      const { category, projection } = fresh()
      yield* appendGrants(category, [5, 6])
      yield* visible(category, 2)

      const moveCheckpoint = db.query((q) =>
        sql`update projection_checkpoints set position = position + 1000000 where name = ${projection.name}`.execute(q)
      )
      const error = yield* Effect.flip(runner.runBatch(projection, { afterApply: moveCheckpoint }))
      expect(error).toMatchObject({ _tag: "CheckpointConflict", projection: projection.name })
      expect(yield* appliedCount(projection.name)).toEqual({ n: 0, total: null })
    }))

  describe("one owner at a time", () => {
    it.effect(
      backend === "postgres"
        ? "PostgreSQL: while another session holds the projection's lock, a runner applies nothing"
        : "PGlite: a second runner waits for the first's transaction, then finds nothing left to apply",
      () =>
        Effect.gen(function*() {
          yield* setup
          const db = yield* Database
          const runner = yield* ProjectionRunner
          const { category, projection } = fresh()
          yield* appendGrants(category, [1, 2, 3])
          yield* visible(category, 3)

          if (backend === "postgres") {
            const locked = yield* Deferred.make<void>()
            const release = yield* Deferred.make<void>()
            const owner = yield* db.transaction(Effect.gen(function*() {
              yield* db.query((q) => sql`select pg_advisory_xact_lock(hashtext('projection:' || ${projection.name}))`.execute(q))
              yield* Deferred.succeed(locked, undefined)
              yield* Deferred.await(release)
            })).pipe(Effect.forkChild)
            yield* Deferred.await(locked)
            expect(yield* runner.runBatch(projection)).toEqual({ _tag: "Locked" })
            expect((yield* appliedCount(projection.name)).n).toBe(0)
            yield* Deferred.succeed(release, undefined)
            yield* Fiber.join(owner)
          } else {
            const first = yield* runner.runBatch(projection, { afterApply: Effect.sleep("100 millis") }).pipe(Effect.forkChild)
            yield* Effect.sleep("20 millis")
            const second = yield* runner.runBatch(projection)
            expect((yield* Fiber.join(first))._tag).toBe("Applied")
            expect(second).toEqual({ _tag: "CaughtUp" })
          }
          expect(yield* catchUpUntil(projection, 3)).toEqual({ n: 3, total: 6 })
        })
    )

    it.effect("two runners racing on one projection while events arrive apply each event once", () =>
      Effect.gen(function*() {
        yield* setup
        const { category, projection } = fresh()
        const runner = yield* ProjectionRunner
        const amounts = Array.from({ length: 60 }, (_, i) => i + 1)
        const writer = appendGrants(category, amounts).pipe(Effect.forkChild)
        // Two workers, each batch in its own transaction on its own connection (on PostgreSQL),
        // contend as two processes would.
        const worker = Effect.forEach(Array.from({ length: 40 }), () => runner.runBatch(projection, { batchSize: 7 }), {
          discard: true
        })
        yield* Effect.all([worker, worker], { concurrency: 2 })
        yield* Fiber.join(yield* writer)
        const applied = yield* catchUpUntil(projection, amounts.length)
        expect(applied).toEqual({ n: amounts.length, total: amounts.reduce((a, b) => a + b, 0) })
      }))
  })

  it.effect("the daemon keeps a projection caught up in the background while its layer lives", () =>
    Effect.gen(function*() {
      yield* setup
      const { category, projection } = fresh()
      yield* Effect.scoped(Effect.gen(function*() {
        yield* Layer.build(ProjectionRunner.daemon([projection], "20 millis"))
        yield* appendGrants(category, [4, 5, 6])
        const applied = yield* eventually(appliedCount(projection.name), (c) => c.n === 3)
        expect(applied).toEqual({ n: 3, total: 15 })
        yield* appendGrants(category, [10])
        expect(yield* eventually(appliedCount(projection.name), (c) => c.n === 4)).toEqual({ n: 4, total: 25 })
      }))
      // Once the layer is released the daemon stops: later events wait for the next owner.
      yield* appendGrants(category, [100])
      yield* Effect.sleep("200 millis")
      expect((yield* appliedCount(projection.name)).n).toBe(4)
    }))
})
