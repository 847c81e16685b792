/**
 * list-rows and lead-index read a page's rows and keys from the stored events (SQL over the
 * events' jsonb) instead of receiving them again: given any batch of events they must write
 * exactly the rows the plain mapping (`rowOf`, `keysOf`) gives — same values, same order,
 * the first row's id where two rows of a list share a key.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import fc from "fast-check"
import { sql } from "kysely"
import * as E from "../../events/index.ts"
import { keysOf, leadIndexProjection } from "../../projections/lead-index.ts"
import { listRowsProjection, rowOf } from "../../projections/list-rows.ts"
import { Database } from "../../src/db/Database.ts"
import { EventStore, type RecordedEvent } from "../../src/eventstore/EventStore.ts"
import { TestDatabase } from "../support/db.ts"

// jsonb cannot hold NUL, so no stored event has one.
const text = fc.string({ maxLength: 30 }).map((s) => s.replace(/\u0000/g, ""))
const nullable = fc.option(text, { nil: null })
const lead: fc.Arbitrary<E.Lead> = fc.record({
  salesNavId: nullable,
  memberUrn: nullable,
  publicIdentifier: nullable,
  linkedinUrl: nullable,
  salesNavUrl: nullable,
  firstName: text,
  lastName: text,
  fullName: text,
  headline: nullable,
  currentRole: nullable,
  currentCompany: nullable,
  location: nullable
})
// Few distinct keys, so rows and pages share some.
const key = fc.constantFrom("k1", "k2", "k3", "urn:li:member:1", "name:\"o'brien\"")
const keys = fc.array(key, { maxLength: 4 })

/** A batch of pages of one user: imports into one or two lists, deduped and persisted. */
const batch = fc.record({
  lists: fc.constant([crypto.randomUUID(), crypto.randomUUID()]),
  pages: fc.array(
    fc.record({
      list: fc.nat({ max: 1 }),
      deduped: fc.array(fc.record({ keys, outcome: fc.constantFrom("kept" as const, "duplicate" as const) }), { maxLength: 6 }),
      rows: fc.array(fc.record({ lead, keys }), { maxLength: 6 })
    }),
    { minLength: 1, maxLength: 4 }
  )
})

const eventsOf = (b: typeof batch extends fc.Arbitrary<infer T> ? T : never, userId: string) =>
  b.pages.flatMap((p, page) => {
    const importId = crypto.randomUUID()
    return [
      new E.LeadsDeduped({
        importId,
        page: page + 1,
        decisions: p.deduped.map((d, index) => ({ index, keys: d.keys, outcome: d.outcome, matchedKey: null })),
        kept: 0,
        skippedDuplicate: 0,
        skippedExisting: 0
      }),
      new E.BatchPersisted({
        importId,
        userId,
        listId: b.lists[p.list]!,
        runId: `run_${page}`,
        page: page + 1,
        rows: p.rows.map((r, index) => ({ rowId: crypto.randomUUID(), index, lead: r.lead, keys: r.keys })),
        overCap: 0,
        lateDuplicates: 0,
        lateExisting: 0
      })
    ]
  })

layer(EventStore.layer().pipe(Layer.provideMerge(TestDatabase())), { excludeTestServices: true })("projections read from the stored events", (it) => {
  it.effect("write the rows and keys of the plain mapping, in order, for any batch", () =>
    Effect.gen(function*() {
      const db = yield* Database
      const store = yield* EventStore
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(batch, async (b) => {
            const userId = crypto.randomUUID()
            const recorded: Array<RecordedEvent> = []
            for (const event of eventsOf(b, userId)) {
              const r = await Effect.runPromise(store.append(`test-${crypto.randomUUID()}`, [event], { expectedVersion: "no-stream" }))
              recorded.push(...r.events)
            }
            // One call for the whole batch, as a rebuild makes (inline appends make one per event).
            await Effect.runPromise(
              db.transaction(Effect.gen(function*() {
                yield* listRowsProjection.apply(recorded.filter((e) => e.type === "BatchPersisted"))
                yield* leadIndexProjection.apply(recorded)
              })).pipe(Effect.provideService(Database, db))
            )

            const rows = await Effect.runPromise(db.query((q) =>
              sql<Record<string, unknown>>`select id::text as id, list_id::text as list_id, user_id::text as user_id,
                  import_id::text as import_id, run_id, linkedin_url, sales_nav_url, profile, added_at
                from list_rows where user_id = ${userId}::uuid order by seq`.execute(q)
            ))
            const expectedRows = recorded.filter((e) => e.type === "BatchPersisted").flatMap((e) =>
              (e.event as E.BatchPersisted).rows.map((row) => rowOf(e.event as E.BatchPersisted, e.recordedAt, row))
            )
            expect(rows.rows.map((r) => ({ ...r, added_at: new Date(r.added_at as string).toISOString() }))).toEqual(expectedRows)

            const expected = keysOf(recorded.map((e) => e.event as E.LeadsDeduped | E.BatchPersisted))
            const firstWins = new Map<string, (typeof expected.keys)[number]>()
            for (const k of expected.keys) {
              const id = `${k.user_id}|${k.key}|${k.list_id}`
              if (!firstWins.has(id)) firstWins.set(id, k)
            }
            const leadKeys = await Effect.runPromise(db.query((q) =>
              sql<{ user_id: string; key: string; list_id: string; row_id: string }>`select user_id::text as user_id, key,
                  list_id::text as list_id, row_id::text as row_id from lead_keys where user_id = ${userId}::uuid`.execute(q)
            ))
            const byId = (a: { user_id: string; key: string; list_id: string }, c: { user_id: string; key: string; list_id: string }) =>
              `${a.key}|${a.list_id}`.localeCompare(`${c.key}|${c.list_id}`)
            expect([...leadKeys.rows].sort(byId)).toEqual([...firstWins.values()].sort(byId))

            const importIds = [...new Set(expected.seen.map((s) => s.import_id))]
            const seen = await Effect.runPromise(db.query((q) =>
              sql<{ import_id: string; key: string }>`select import_id::text as import_id, key from import_seen_keys
                where import_id = any(${`{${importIds.join(",")}}`}::uuid[])`.execute(q)
            ))
            const seenIds = (s: ReadonlyArray<{ import_id: string; key: string }>) => [...new Set(s.map((x) => `${x.import_id}|${x.key}`))].sort()
            expect(seenIds(seen.rows)).toEqual(seenIds(expected.seen))
          }),
          { numRuns: 25 }
        )
      )
    }), 120_000)
})
