/**
 * Fault injection: random transient failures before and after every stage (after =
 * the stage's work committed but its answer lost), and random crashes of the
 * orchestrator that is then run again from the events. Whatever happens, an import
 * ends with: no duplicate row, no lost lead, rows <= maxResults, charged = rows,
 * reserved = charged + refunded with exactly one refund and one ending, and every
 * event decodable.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import fc from "fast-check"
import { sql } from "kysely"
import { ConfigProvider } from "effect"
import { ServicesLive } from "../../src/app.ts"
import { Database } from "../../src/db/Database.ts"
import { Imports } from "../../src/imports/Imports.ts"
import { fakeSearchPeople } from "../../src/leads/FakeLeadSource.ts"
import { ImportStages } from "../../src/pipeline/ImportStages.ts"
import { StageFailed } from "../../src/pipeline/StageFailed.ts"
import { localStageRunner } from "../../src/pipeline/LocalEngine.ts"
import { runImport } from "../../src/pipeline/runImport.ts"
import { TestDatabase } from "../support/db.ts"
import { makeUser } from "../support/fixtures.ts"
import { personOf } from "../support/imports.ts"

/** The process died: escapes the orchestrator like a SIGKILL would end it. */
class Crash extends Error {}

interface Faults {
  readonly before: number
  readonly after: number
  readonly crash: number
}

/** Stages whose every call may fail before or after doing its work, or crash the process. */
const faulty = (inner: ImportStages["Service"], faults: Faults, random: () => number): ImportStages["Service"] => {
  const wrap = <A>(name: string, stage: Effect.Effect<A, StageFailed>) =>
    Effect.gen(function*() {
      if (random() < faults.crash) return yield* Effect.die(new Crash(`crash before ${name}`))
      if (random() < faults.before) {
        return yield* new StageFailed({ stage: name, kind: "transient", code: "injected", message: "before" })
      }
      const result = yield* stage
      if (random() < faults.crash) return yield* Effect.die(new Crash(`crash after ${name}`))
      if (random() < faults.after) {
        return yield* new StageFailed({ stage: name, kind: "transient", code: "injected", message: "after" })
      }
      return result
    })
  return {
    ...inner,
    fetchPage: (i, p) => wrap("fetch-page", inner.fetchPage(i, p)),
    dedupe: (i, p) => wrap("dedupe", inner.dedupe(i, p)),
    persistBatch: (i, p, r) => wrap("persist-batch", inner.persistBatch(i, p, r)),
    refundUnusedCredits: (i, b) => wrap("refund-unused-credits", inner.refundUnusedCredits(i, b))
  }
}

/** Retries transient failures at once (the injected ones are not about time). */
const fastRetry = { maxAttempts: 1_000, factor: 1, minTimeoutInMs: 0, maxTimeoutInMs: 0 }

const Services = ServicesLive.pipe(
  Layer.provideMerge(TestDatabase()),
  Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ FAKE_PAGE_LATENCY_MS: "0" })))
)

layer(Services, { excludeTestServices: true })("fault injection", (it) => {
  it.effect("invariants hold under random transient failures and crashes at every stage", () =>
    Effect.gen(function*() {
      const context = yield* Effect.context<any>()
      const run = <A, E>(effect: Effect.Effect<A, E, any>) => Effect.runPromise(Effect.provideContext(effect, context))

      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(
            fc.integer({ min: 1, max: 120 }),
            fc.integer({ min: 0, max: 150 }),
            fc.boolean(),
            fc.record({
              before: fc.double({ min: 0, max: 0.3, noNaN: true }),
              after: fc.double({ min: 0, max: 0.3, noNaN: true }),
              crash: fc.double({ min: 0, max: 0.15, noNaN: true })
            }),
            fc.integer(),
            async (maxResults, searchSize, priorImport, faults, seed) => {
              const random = mulberry32(seed)
              const user = await run(makeUser({ credits: 10_000 }))
              const url = `https://www.linkedin.com/sales/search/people?query=(fi-${seed}-${crypto.randomUUID().slice(0, 6)})&fakeCount=${searchSize}`
              const importOnce = async (max: number) => {
                const started = await run(Effect.flatMap(Imports, (i) =>
                  i.start(user.userId, { url, maxResults: max, skipExistingCustomers: true })))
                // The engine's retry policy around stages that fail and crash at random.
                const runner = localStageRunner(faulty(await run(ImportStages), faults, random), fastRetry)
                // Crash and restart until the import has ended.
                for (let restarts = 0;; restarts++) {
                  expect(restarts).toBeLessThan(500)
                  const exit = await run(Effect.exit(runImport(started.importId, started.runId, () => runner)))
                  if (exit._tag === "Success") break
                  const crashed = exit.cause.reasons.some((r) => r._tag === "Die" && r.defect instanceof Crash)
                  expect(crashed, String(exit.cause)).toBe(true)
                }
                return started
              }

              // Sometimes the user already imported the first people of this search into another list.
              const prior = priorImport ? Math.min(10, maxResults) : 0
              if (prior > 0) await importOnce(prior)
              const started = await importOnce(maxResults)

              const status = await run(importRow(started.importId))
              const reachable = fakeSearchPeople(url)
              const expected = reachable.slice(prior, prior + maxResults).map(personOf)
              expect(status.status).toBe("completed")
              expect(status.rows).toBe(status.leads_imported)
              expect(status.rows).toBe(expected.length)
              expect(status.credits_charged).toBe(status.leads_imported)
              expect(status.credits_reserved).toBe(status.credits_charged + status.credits_refunded)
              expect(status.refunds).toBe(1)
              expect(status.endings).toBe(1)
              expect(status.charges).toBe(status.credits_charged)
              // No lost lead, none twice, in search order.
              expect(status.people.map(personOf)).toEqual(expected)
              // Every event of the import decodes (the audit read decodes them all).
              const events = await run(Effect.flatMap(Imports, (i) => i.events(started.importId)))
              expect(events.length).toBeGreaterThan(0)
            }
          ),
          { numRuns: 40 }
        )
      )
    }), 300_000)
})

layer(Services, { excludeTestServices: true })("imports racing into one list", (it) => {
  it.effect("never put a person in the list twice, and charge only the rows each inserted", () =>
    Effect.gen(function*() {
      const imports = yield* Imports
      const stages = yield* ImportStages
      const db = yield* Database
      const user = yield* makeUser({ credits: 10_000 })
      const url = `https://www.linkedin.com/sales/search/people?query=(race-${crypto.randomUUID().slice(0, 8)})&fakeCount=120`
      const first = yield* imports.start(user.userId, { url, maxResults: 100, skipExistingCustomers: false })
      const others = yield* Effect.forEach([1, 2, 3], () =>
        imports.start(user.userId, { url, maxResults: 100, listId: first.listId, skipExistingCustomers: false }))
      // Four imports of the same people into the same list, at the same time, bypassing the engine's per-account queue.
      const runner = localStageRunner(stages, fastRetry)
      yield* Effect.forEach([first, ...others], (s) => runImport(s.importId, s.runId, () => runner), { concurrency: "unbounded" })

      const { rows } = yield* db.query((q) =>
        sql<{ rows: number; people: number; charged: number; imported: number }>`select
          (select count(*)::int from list_rows where list_id = ${first.listId}::uuid) as rows,
          (select count(distinct coalesce(linkedin_url, profile->>'fullName'))::int from list_rows where list_id = ${first.listId}::uuid) as people,
          (select coalesce(sum(credits_charged), 0)::int from imports where list_id = ${first.listId}::uuid) as charged,
          (select coalesce(sum(leads_imported), 0)::int from imports where list_id = ${first.listId}::uuid) as imported`.execute(q)
      )
      // The 120 people of the search, each once; the other imports filled what the first left.
      expect(rows[0]).toEqual({ rows: 120, people: 120, charged: 120, imported: 120 })
    }).pipe(Effect.orDie), 120_000)
})

/** The import's counters, rows and credit events, straight from the database. */
const importRow = (importId: string) =>
  Effect.gen(function*() {
    const db = yield* Database
    const { rows } = yield* db.query((q) =>
      sql<any>`select i.status, i.leads_imported, i.credits_reserved::int, i.credits_charged::int, i.credits_refunded::int,
          (select count(*)::int from list_rows r where r.import_id = i.import_id) as rows,
          (select coalesce(json_agg(json_build_object(
              'linkedinUrl', r.linkedin_url, 'profileData', r.profile) order by r.seq), '[]'::json)
             from list_rows r where r.import_id = i.import_id) as people,
          (select count(*)::int from events e where e.correlation_id = ${importId} and e.type = 'CreditsRefunded') as refunds,
          (select count(*)::int from events e where e.correlation_id = ${importId} and e.type in ('ImportCompleted', 'ImportFailed')) as endings,
          (select coalesce(sum((e.data->>'amount')::int), 0)::int from events e
             where e.correlation_id = ${importId} and e.type = 'CreditsCharged') as charges
        from imports i where i.import_id = ${importId}::uuid`.execute(q)
    )
    return rows[0]
  }).pipe(Effect.orDie)

/** A small seeded PRNG, so a failing case replays with the same faults. */
const mulberry32 = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
