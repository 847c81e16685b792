/**
 * The pipeline's page floor (bench/pageFloor.ts) writes what the pipeline writes: an import run
 * through the real stages, then its pages written again by the floor's five statements, must leave
 * the same rows for the floor's import — its events (the same data), list rows, list keys, seen
 * keys, counters, list count and credit hold. A floor that wrote less would flatter the pipeline's
 * ratio without anyone noticing.
 */
import { expect, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { sql } from "kysely"
import { pageFloor, queryThrough, templatePages } from "../../bench/pageFloor.ts"
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

/** What an import left: its events (data and metadata) by type and page, and the rows and counters of its import, list and hold. */
const written = (importId: string, listId: string) =>
  Effect.gen(function*() {
    const db = yield* Database
    const { rows } = yield* db.query((q) =>
      sql<Record<string, unknown>>`select
        (select json_agg(json_build_object('type', type, 'page', data->'page', 'data', data, 'metadata', metadata)
           order by type, (data->>'page')::int)
           from events where correlation_id = ${importId}
             and type in ('PageFetched', 'LeadsDeduped', 'BatchPersisted', 'CreditsCharged')) as events,
        (select count(*)::int from list_rows where import_id = ${importId}::uuid) as list_rows,
        (select count(*)::int from lead_keys where list_id = ${listId}::uuid) as lead_keys,
        (select coalesce(json_agg(key order by key), '[]') from import_seen_keys where import_id = ${importId}::uuid) as seen_keys,
        (select json_build_object('pages', pages_fetched, 'fetched', leads_fetched, 'imported', leads_imported,
           'duplicate', skipped_duplicate, 'existing', skipped_existing, 'charged', credits_charged)
           from imports where import_id = ${importId}::uuid) as counters,
        (select row_count from lists where id = ${listId}::uuid) as list_count,
        (select charged::int from credit_holds where import_id = ${importId}::uuid) as hold_charged`.execute(q)
    )
    return rows[0]!
  })

layer(Services, { excludeTestServices: true })(`the pipeline's page floor (${backend})`, (it) => {
  it.effect("writes, page by page, the rows the pipeline wrote", () =>
    Effect.gen(function*() {
      const db = yield* Database
      const imports = yield* Imports
      const stages = yield* ImportStages
      const user = yield* makeUser({ credits: 1_000 })
      const url = `https://www.linkedin.com/sales/search/people?query=(floor-${crypto.randomUUID().slice(0, 8)})`
      const started = yield* imports.start(user.userId, { url, maxResults: 120, skipExistingCustomers: true }).pipe(Effect.orDie)
      const summary = yield* runImport(started.importId, started.runId, () => localStageRunner(stages))
      expect(summary.imported).toBe(120)

      const query = queryThrough(db)
      const template = yield* Effect.promise(() => templatePages(query, started.importId))
      expect(template.length).toBeGreaterThanOrEqual(5)
      const floor = yield* Effect.promise(() => pageFloor(query, template, 2))
      expect(floor.rows).toBe(240)

      const original = yield* written(started.importId, started.listId)
      expect(original.list_rows).toBe(120)
      // The last page's leads over the cap, at least, are seen and not in the list.
      expect((original.seen_keys as Array<string>).length).toBeGreaterThan(0)
      for (const copy of floor.imports) {
        expect(yield* written(copy.importId, copy.listId)).toEqual(original)
      }
    }), 60_000)
})
