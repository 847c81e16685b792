/**
 * What an import remembers of the leads it met (projections/lead-index.ts), on a real import: once
 * a page is persisted, every key of every lead the import has met is in its seen keys or in its
 * list's keys — so the next page's dedupe finds any of them — and the seen keys are exactly the keys
 * of the leads the list will not hold: the skipped ones and the kept ones the batch left out (here,
 * over the cap). A kept lead's keys are written once, to the list.
 */
import { expect, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { sql } from "kysely"
import { Database } from "../../src/db/Database.ts"
import { Imports } from "../../src/imports/Imports.ts"
import { ImportStages } from "../../src/pipeline/ImportStages.ts"
import { localStageRunner } from "../../src/pipeline/LocalEngine.ts"
import { runImport } from "../../src/pipeline/runImport.ts"
import { countingLeadSource, servicesCounting } from "../support/counting-lead-source.ts"
import { backend, TestDatabase } from "../support/db.ts"
import { makeUser } from "../support/fixtures.ts"

const Services = servicesCounting(countingLeadSource()).pipe(
  Layer.provideMerge(TestDatabase()),
  Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({})))
)

const search = (name: string) => `https://www.linkedin.com/sales/search/people?query=(seen-keys-${name})`

/** An import's keys: of the leads it met, of those its dedupe skipped or its batches left out, its seen keys, its list's. */
const keysOf = (db: Database["Service"], importId: string, userId: string, listId: string) =>
  Effect.gen(function*() {
    const { rows } = yield* db.query((q) =>
      sql<{ met: Array<string>; notListed: Array<string>; seen: Array<string>; listed: Array<string> }>`
        with decisions as (
          select d.decision, b.data as batch from events e
            cross join lateral jsonb_array_elements(e.data->'decisions') as d(decision)
            left join events b on b.correlation_id = e.correlation_id and b.type = 'BatchPersisted'
              and b.data->'page' = e.data->'page'
          where e.correlation_id = ${importId} and e.type = 'LeadsDeduped')
        select
          (select coalesce(json_agg(distinct k.key), '[]') from decisions,
             jsonb_array_elements_text(decision->'keys') as k(key)) as met,
          (select coalesce(json_agg(distinct k.key), '[]') from decisions, jsonb_array_elements_text(decision->'keys') as k(key)
             where decision->>'outcome' <> 'kept'
               or not exists (select 1 from jsonb_array_elements(batch->'rows') r where r->'index' = decision->'index')) as "notListed",
          (select coalesce(json_agg(key), '[]') from import_seen_keys where import_id = ${importId}::uuid) as seen,
          (select coalesce(json_agg(key), '[]') from lead_keys where user_id = ${userId}::uuid and list_id = ${listId}::uuid) as listed`
        .execute(q)
    )
    const { met, notListed, seen, listed } = rows[0]!
    return { met: new Set(met), notListed: new Set(notListed), seen: new Set(seen), listed: new Set(listed) }
  })

layer(Services, { excludeTestServices: true })(`an import's seen keys (${backend})`, (it) => {
  it.effect("hold, with its list's keys, every key it met, once a page is persisted; and only those of the leads the list will not hold", () =>
    Effect.gen(function*() {
      const db = yield* Database
      const imports = yield* Imports
      const stages = yield* ImportStages
      const user = yield* makeUser({ credits: 1_000 })
      // A first list, then an import whose search shares people with it (the fake's shared pool)
      // and repeats people across pages, capped in the middle of a page.
      const first = yield* imports.start(user.userId, { url: search("first"), maxResults: 120, skipExistingCustomers: true })
      yield* runImport(first.importId, first.runId, () => localStageRunner(stages))
      const started = yield* imports.start(user.userId, { url: search("d"), maxResults: 110, skipExistingCustomers: true })

      let checked = 0
      const summary = yield* runImport(started.importId, started.runId, () => localStageRunner(stages), {
        onStep: (state) =>
          state.persisted === state.deduped && state.deduped > 0
            ? Effect.gen(function*() {
              const keys = yield* keysOf(db, started.importId, user.userId, started.listId)
              expect([...keys.met].filter((k) => !keys.seen.has(k) && !keys.listed.has(k))).toEqual([])
              expect([...keys.seen].sort()).toEqual([...keys.notListed].sort())
              checked++
            }).pipe(Effect.orDie)
            : Effect.void
      })
      expect(summary.imported).toBe(110)
      expect(checked).toBeGreaterThanOrEqual(5)

      // What it met took every way in: duplicates across pages, existing customers, leads over the cap.
      const { rows } = yield* db.query((q) =>
        sql<{ skipped_duplicate: number; skipped_existing: number; over_cap: number }>`
          select skipped_duplicate, skipped_existing, over_cap from imports where import_id = ${started.importId}::uuid`.execute(q)
      )
      expect(rows[0]!.skipped_duplicate).toBeGreaterThan(0)
      expect(rows[0]!.skipped_existing).toBeGreaterThan(0)
      expect(rows[0]!.over_cap).toBeGreaterThan(0)
    }).pipe(Effect.orDie), 60_000)
})
