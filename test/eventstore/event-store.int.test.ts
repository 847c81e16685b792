/**
 * The event store's guarantees, one test each, on the backend under test
 * (PGlite by default, PostgreSQL when DATABASE_URL is set).
 */
import { assert, describe, expect, layer } from "@effect/vitest"
import { Effect, Exit, Layer, Result } from "effect"
import fc from "fast-check"
import { sql } from "kysely"
import { CreditsGranted, eventCodec, makeEventCodec } from "../../events/index.ts"
import { Database } from "../../src/db/Database.ts"
import { EventStore, IdempotencyConflict, makeEventStore, WrongExpectedVersion } from "../../src/eventstore/EventStore.ts"
import { applyWrites, type LogEvents, type Projection, type Writes } from "../../src/eventstore/Projection.ts"
import { domainEvent } from "../support/arbitraries.ts"
import { TestDatabase } from "../support/db.ts"
import { eventually } from "../support/eventually.ts"

const grant = (amount: number, userId = "u") => new CreditsGranted({ userId, amount, reason: "test" })
const uuid = () => crypto.randomUUID()
const stream = (name: string) => `test${name.replace(/-/g, "")}-${uuid()}`

layer(EventStore.layer().pipe(Layer.provideMerge(TestDatabase())), { excludeTestServices: true })("event store", (it) => {
  describe("append with an expected version", () => {
    it.effect("writes all events of a call atomically with consecutive versions", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const s = stream("atomic")
        const result = yield* store.append(s, [grant(1), grant(2), grant(3)], { expectedVersion: "no-stream" })
        expect(result.version).toBe(3)
        expect(result.events.map((e) => e.version)).toEqual([1, 2, 3])
        const read = yield* store.readStream(s)
        expect(read.map((e) => (e.event as CreditsGranted).amount)).toEqual([1, 2, 3])
        // Positions ascend with versions.
        expect([...read].sort((a, b) => a.position - b.position).map((e) => e.version)).toEqual([1, 2, 3])
      }))

    // append builds its recorded events from the events in hand instead of reading them back,
    // so what it returns (and hands to inline projections) must be what any later read decodes.
    it.effect("returns the recorded events exactly as a later read decodes them", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(fc.array(domainEvent, { minLength: 1, maxLength: 4 }), fc.uuid(), async (events, userId) => {
              const s = stream("roundtrip")
              const result = await Effect.runPromise(
                store.append(s, events, { expectedVersion: "no-stream", correlationId: "c-1", userId })
              )
              const read = await Effect.runPromise(store.readStream(s))
              expect(result.events).toEqual(read)
              expect(result.events.map((e) => e.metadata)).toEqual(events.map(() => ({ correlationId: "c-1", userId })))
            }),
            { numRuns: 30 }
          )
        )
      }))

    it.effect("honours exact, no-stream, exists and any", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const s = stream("modes")
        const conflict = (e: Effect.Effect<unknown, unknown>) => Effect.flip(e)

        const noStreamOnMissing = yield* store.append(s, [grant(1)], { expectedVersion: "no-stream" })
        expect(noStreamOnMissing.version).toBe(1)
        const noStreamOnExisting = yield* conflict(store.append(s, [grant(1)], { expectedVersion: "no-stream" }))
        expect(noStreamOnExisting).toBeInstanceOf(WrongExpectedVersion)
        expect((noStreamOnExisting as WrongExpectedVersion).actual).toBe(1)

        const existsOnMissing = yield* conflict(store.append(stream("missing"), [grant(1)], { expectedVersion: "exists" }))
        expect(existsOnMissing).toBeInstanceOf(WrongExpectedVersion)
        expect((yield* store.append(s, [grant(2)], { expectedVersion: "exists" })).version).toBe(2)

        const stale = yield* conflict(store.append(s, [grant(3)], { expectedVersion: 1 }))
        expect(stale).toMatchObject({ _tag: "WrongExpectedVersion", expected: "1", actual: 2 })
        expect((yield* store.append(s, [grant(3), grant(4)], { expectedVersion: 2 })).version).toBe(4)

        expect((yield* store.append(s, [grant(5)], { expectedVersion: "any" })).version).toBe(5)
        expect((yield* store.append(stream("fresh"), [grant(1)], { expectedVersion: "any" })).version).toBe(1)
        // 0 is the version of a stream that does not exist yet.
        expect((yield* store.append(stream("zero"), [grant(1)], { expectedVersion: 0 })).version).toBe(1)
        expect(yield* store.streamVersion(s)).toBe(5)
      }))

    it.effect("a conflict writes nothing", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const s = stream("nothing")
        yield* store.append(s, [grant(1)], { expectedVersion: "no-stream" })
        yield* Effect.flip(store.append(s, [grant(2), grant(3)], { expectedVersion: 5 }))
        expect((yield* store.readStream(s)).length).toBe(1)
        expect(yield* store.streamVersion(s)).toBe(1)
      }))

    it.effect("the table itself rejects a second event at the same stream version", () =>
      Effect.gen(function*() {
        const db = yield* Database
        const store = yield* EventStore
        const s = stream("unique")
        yield* store.append(s, [grant(1)], { expectedVersion: "no-stream" })
        const error = yield* Effect.flip(db.query((q) =>
          sql`insert into events (event_id, stream_id, version, type, schema_version, data)
              values (${uuid()}::uuid, ${s}, 1, 'CreditsGranted', 1, '{}'::jsonb)`.execute(q)
        ))
        expect(error.code).toBe("23505")
        expect(error.constraint).toBe("events_stream_version_key")
      }))
  })

  describe("idempotent append by event id", () => {
    it.effect("the same ids with the same content succeed once and report the retry", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const s = stream("idem")
        const ids = [uuid(), uuid()]
        const first = yield* store.append(s, [grant(1), grant(2)], { expectedVersion: "no-stream", eventIds: ids })
        const retry = yield* store.append(s, [grant(1), grant(2)], { expectedVersion: "no-stream", eventIds: ids })
        expect(first.alreadyAppended).toBe(false)
        expect(retry.alreadyAppended).toBe(true)
        expect(retry.version).toBe(2)
        expect(retry.events.map((e) => e.eventId)).toEqual(ids)
        expect((yield* store.readStream(s)).length).toBe(2)
      }))

    it.effect("different content, another stream or a partial match is a conflict", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const s = stream("idemconflict")
        const [a, b] = [uuid(), uuid()]
        yield* store.append(s, [grant(1), grant(2)], { expectedVersion: "any", eventIds: [a, b] })

        const otherContent = yield* Effect.flip(store.append(s, [grant(1), grant(99)], { expectedVersion: "any", eventIds: [a, b] }))
        const otherStream = yield* Effect.flip(store.append(stream("x"), [grant(1), grant(2)], { expectedVersion: "any", eventIds: [a, b] }))
        const partial = yield* Effect.flip(store.append(s, [grant(2), grant(3)], { expectedVersion: "any", eventIds: [b, uuid()] }))
        for (const e of [otherContent, otherStream, partial]) expect(e).toBeInstanceOf(IdempotencyConflict)
        expect((partial as IdempotencyConflict).reason).toContain("partial")
        expect(yield* store.streamVersion(s)).toBe(2)
      }))
  })

  describe("reads", () => {
    it.effect("by category and by correlation id, in commit order, with metadata", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const category = `cat${uuid().slice(0, 8)}`
        const correlationId = uuid()
        const causationId = uuid()
        yield* store.append(`${category}-a`, [grant(1)], { expectedVersion: "any", correlationId, userId: "user-1" })
        yield* store.append(`other${category}-b`, [grant(2)], { expectedVersion: "any", correlationId, causationId })
        yield* store.append(`${category}-c`, [grant(3)], { expectedVersion: "any" })

        const byCategory = yield* eventually(store.readAll({ category }), (r) => r.events.length === 2)
        expect(byCategory.events.map((e) => e.streamId)).toEqual([`${category}-a`, `${category}-c`])

        const byCorrelation = yield* eventually(store.readAll({ correlationId }), (r) => r.events.length === 2)
        expect(byCorrelation.events.map((e) => (e.event as CreditsGranted).amount)).toEqual([1, 2])
        expect(byCorrelation.events[0]!.metadata).toEqual({ correlationId, userId: "user-1" })
        expect(byCorrelation.events[1]!.metadata).toEqual({ correlationId, causationId })

        // Paging with the compound checkpoint returns the rest and nothing twice.
        const page1 = yield* store.readAll({ correlationId, limit: 1 })
        const page2 = yield* store.readAll({ correlationId, after: page1.checkpoint, limit: 10 })
        expect([...page1.events, ...page2.events].map((e) => e.eventId)).toEqual(byCorrelation.events.map((e) => e.eventId))
        const page3 = yield* store.readAll({ correlationId, after: page2.checkpoint })
        expect(page3.events).toEqual([])
        expect(page3.checkpoint).toEqual(page2.checkpoint)
      }))

    it.effect("upcasts an event stored under an older schema version on read", () =>
      Effect.gen(function*() {
        const db = yield* Database
        const s = stream("upcast")
        // A stored v1 CreditsGranted had no `reason`; this code knows v2, which added it.
        yield* db.query((q) =>
          sql`insert into events (event_id, stream_id, version, type, schema_version, data)
              values (${uuid()}::uuid, ${s}, 1, 'CreditsGranted', 1, ${JSON.stringify({ userId: "u", amount: 7 })}::text::jsonb)`
            .execute(q)
        )
        const v2 = makeEventStore(db, {
          codec: makeEventCodec({
            versions: { CreditsGranted: 2 },
            upcasters: { CreditsGranted: { 1: (data) => ({ ...data, reason: "legacy grant" }) } }
          })
        })
        const [event] = yield* v2.readStream(s)
        expect(event!.event).toEqual(new CreditsGranted({ userId: "u", amount: 7, reason: "legacy grant" }))

        // Without the upcaster the same row is not silently misread: reading it is a defect.
        const exit = yield* Effect.exit(makeEventStore(db, { codec: makeEventCodec({ versions: { CreditsGranted: 2 }, upcasters: {} }) }).readStream(s))
        assert(Exit.isFailure(exit))
        expect(String(exit.cause)).toContain("no upcaster for CreditsGranted v1 -> v2")
      }))

    it.effect("encodes each event with its type's current schema version", () =>
      Effect.gen(function*() {
        const db = yield* Database
        const store = yield* EventStore
        const s = stream("version")
        yield* store.append(s, [grant(1)], { expectedVersion: "no-stream" })
        const row = yield* db.query((q) => q.selectFrom("events").select(["schema_version", "type"]).where("stream_id", "=", s).executeTakeFirstOrThrow())
        expect(row).toEqual({ type: "CreditsGranted", schema_version: 1 })
        expect(Result.isSuccess(eventCodec.decode({ type: "CreditsGranted", schemaVersion: 1, data: { userId: "u", amount: 1, reason: "r" } }))).toBe(true)
      }))
  })

  describe("the events table is append-only", () => {
    it.effect("UPDATE, DELETE and TRUNCATE are rejected", () =>
      Effect.gen(function*() {
        const db = yield* Database
        const store = yield* EventStore
        const s = stream("appendonly")
        yield* store.append(s, [grant(1)], { expectedVersion: "no-stream" })
        const update = yield* Effect.flip(db.query((q) => q.updateTable("events").set({ type: "X" }).where("stream_id", "=", s).execute()))
        const del = yield* Effect.flip(db.query((q) => q.deleteFrom("events").where("stream_id", "=", s).execute()))
        const truncate = yield* Effect.flip(db.query((q) => sql`truncate events`.execute(q)))
        for (const e of [update, del, truncate]) expect(e.message).toContain("append-only")
        expect((yield* store.readStream(s)).length).toBe(1)
      }))
  })

  describe("inline projections", () => {
    const projection: Projection = {
      name: "test-inline-totals",
      tables: ["test_inline_totals"],
      handles: ["CreditsGranted"],
      apply: (events) =>
        Effect.gen(function*() {
          const db = yield* Database
          for (const e of events) {
            const amount = (e.event as CreditsGranted).amount
            if (amount < 0) return yield* Effect.die(new Error("projection refuses negative grants"))
            yield* db.query((q) =>
              sql`insert into test_inline_totals (stream_id, total) values (${e.streamId}, ${amount})
                  on conflict (stream_id) do update set total = test_inline_totals.total + excluded.total`.execute(q)
            )
          }
        })
    }

    it.effect("run in the append transaction: visible at once, rolled back with a failed append", () =>
      Effect.gen(function*() {
        const db = yield* Database
        yield* db.query((q) => sql`create table if not exists test_inline_totals (stream_id text primary key, total int not null)`.execute(q))
        const store = makeEventStore(db, { inline: [projection] })
        const s = stream("inline")
        yield* store.append(s, [grant(2), grant(3)], { expectedVersion: "no-stream" })
        const total = () =>
          db.query((q) => q.selectFrom("test_inline_totals" as any).select("total").where("stream_id", "=", s).executeTakeFirst()).pipe(
            Effect.map((r) => (r as { total: number } | undefined)?.total)
          )
        expect(yield* total()).toBe(5)

        const exit = yield* Effect.exit(store.append(s, [grant(4), grant(-1)], { expectedVersion: 2 }))
        expect(Exit.isFailure(exit)).toBe(true)
        expect(yield* total()).toBe(5)
        expect(yield* store.streamVersion(s)).toBe(2)
      }))

    // Projections that state their writes over the events (each test stream's grants name it as
    // their user): step 1 of each goes with the append, as one statement; later steps after it.
    const rowsThenCount = (_: ReadonlyArray<string>, events: LogEvents): Writes => [
      [sql`insert into test_steps_grants (stream_id, amount)
          select e.data->>'userId', (e.data->>'amount')::int from ${events("CreditsGranted")} e order by e.position`],
      // Sees the rows step 1 inserted: it runs as a statement after it.
      [sql`insert into test_steps_counts (stream_id, n)
          select stream_id, count(*) from test_steps_grants where stream_id in (select e.data->>'userId' from ${events("CreditsGranted")} e)
          group by stream_id
          on conflict (stream_id) do update set n = excluded.n`]
    ]
    const sums = (_: ReadonlyArray<string>, events: LogEvents): Writes => [[
      sql`insert into test_steps_sums (stream_id, total)
          select e.data->>'userId', sum((e.data->>'amount')::int) from ${events("CreditsGranted")} e group by 1
          on conflict (stream_id) do update set total = test_steps_sums.total + excluded.total`
    ]]
    const stated: ReadonlyArray<Projection> = [
      { name: "test-steps-a", tables: ["test_steps_grants", "test_steps_counts"], handles: ["CreditsGranted"], apply: applyWrites(rowsThenCount), writes: rowsThenCount },
      { name: "test-steps-b", tables: ["test_steps_sums"], handles: ["CreditsGranted"], apply: applyWrites(sums), writes: sums }
    ]

    it.effect("stated writes: one statement per step for all of them, the same rows as applying each, rolled back together", () =>
      Effect.gen(function*() {
        const db = yield* Database
        yield* db.query((q) =>
          sql`create table if not exists test_steps_grants (stream_id text not null, amount int not null check (amount >= 0))`.execute(q)
        )
        yield* db.query((q) => sql`create table if not exists test_steps_counts (stream_id text primary key, n int not null)`.execute(q))
        yield* db.query((q) => sql`create table if not exists test_steps_sums (stream_id text primary key, total int not null)`.execute(q))
        let statements = 0
        const counting: Database["Service"] = { ...db, query: (f) => Effect.suspend(() => (statements++, db.query(f))) }
        const store = makeEventStore(counting, { inline: [...stated, projection] })
        const state = (s: string) =>
          db.query((q) =>
            sql<{ n: number | null; total: number | null }>`select
              (select n from test_steps_counts where stream_id = ${s}) as n,
              (select total from test_steps_sums where stream_id = ${s}) as total`.execute(q)
          ).pipe(Effect.map(({ rows }) => ({ n: rows[0]!.n, total: rows[0]!.total })))

        const s = stream("steps")
        yield* store.append(s, [grant(2, s), grant(3, s)], { expectedVersion: "no-stream" })
        // The append with step 1 of both, step 2 of the first, then the apply-only projection's two inserts.
        expect(statements).toBe(1 + 1 + 2)
        expect(yield* state(s)).toEqual({ n: 2, total: 5 })
        yield* store.append(s, [grant(4, s)], { expectedVersion: 2 })
        expect(yield* state(s)).toEqual({ n: 3, total: 9 })

        // A retry of an append already made inserts nothing, and so no projection writes again; nor
        // does an append that loses on its expected version.
        const id = uuid()
        yield* store.append(s, [grant(1, s)], { expectedVersion: 3, eventIds: [id] })
        expect(yield* state(s)).toEqual({ n: 4, total: 10 })
        const again = yield* store.append(s, [grant(1, s)], { expectedVersion: 3, eventIds: [id] })
        expect(again.alreadyAppended).toBe(true)
        expect(Exit.isFailure(yield* Effect.exit(store.append(s, [grant(9, s)], { expectedVersion: 1 })))).toBe(true)
        expect(yield* state(s)).toEqual({ n: 4, total: 10 })

        // Step 1 of the first fails (the check): nothing of the append or of any projection stays.
        const exit = yield* Effect.exit(db.transaction(store.append(s, [grant(5, s), grant(-1, s)], { expectedVersion: 4 })))
        expect(Exit.isFailure(exit)).toBe(true)
        expect(yield* state(s)).toEqual({ n: 4, total: 10 })
        expect(yield* store.streamVersion(s)).toBe(4)

        // The same events through each projection's own apply give the same rows.
        const other = stream("steps-apply")
        const plain = makeEventStore(db, { inline: stated.map(({ writes: _, ...rest }) => rest) })
        yield* plain.append(other, [grant(2, other), grant(3, other)], { expectedVersion: "no-stream" })
        yield* plain.append(other, [grant(4, other)], { expectedVersion: 2 })
        expect(yield* state(other)).toEqual({ n: 3, total: 9 })
      }))
  })
})
