/**
 * An import's progress updates its row on every page (the `import-progress` counters and
 * `updated_at`). None of those columns is in an index of `imports`, so each update is HOT: the new
 * version stays on the row's page and no index gets an entry for it (migration 0014; keyed by
 * `updated_at`, the reconciler's index made three of an import's four updates a page write into
 * every index of the table and leave a dead row behind).
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { sql } from "kysely"
import { Database } from "../../src/db/Database.ts"
import { backend, TestDatabase } from "../support/db.ts"

/** What a page of an import changes in its row (projections/import-progress.ts). */
const perPage = sql`pages_fetched = pages_fetched + 1, leads_fetched = leads_fetched + 25, leads_imported = leads_imported + 24,
  skipped_existing = skipped_existing + 1, skipped_duplicate = skipped_duplicate + 1, over_cap = over_cap + 1,
  credits_charged = credits_charged + 24, total_available = coalesce(total_available, 0) + 1,
  updated_at = updated_at + interval '1 millisecond'`

layer(TestDatabase(), { excludeTestServices: true })(`an import's progress (${backend})`, (it) => {
  it.effect("updates its row in place, touching no index", () =>
    Effect.gen(function*() {
      const db = yield* Database
      const importId = crypto.randomUUID()
      yield* db.query((q) =>
        sql`insert into imports (import_id, user_id, list_id, url, requested, max_results, was_capped, skip_existing_customers,
              created_at, status, updated_at, credits_reserved)
            values (${importId}::uuid, ${crypto.randomUUID()}::uuid, ${crypto.randomUUID()}::uuid,
              'https://www.linkedin.com/sales/search/people?query=hot', 250, 250, false, true, now(), 'running', now(), 250)`.execute(q)
      )
      // In one transaction, whose own counts pg_stat_xact_user_tables gives at once.
      const counts = yield* db.transaction(Effect.gen(function*() {
        for (let page = 0; page < 10; page++) {
          yield* db.query((q) => sql`update imports set ${perPage} where import_id = ${importId}::uuid`.execute(q))
        }
        const { rows } = yield* db.query((q) =>
          sql<{ updated: string; hot: string }>`select n_tup_upd::text as updated, n_tup_hot_upd::text as hot
            from pg_stat_xact_user_tables where relname = 'imports'`.execute(q)
        )
        return rows[0]!
      }))
      expect(Number(counts.updated)).toBe(10)
      expect(Number(counts.hot)).toBe(10)
    }))
})
