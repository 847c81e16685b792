/**
 * A rebuild replays the log a batch of positions at a time. Every statement of a step must find
 * its batch by those positions (the primary key), however it is planned: once for any values (as
 * the service's connections keep plans) or for the batch's. A type is no way in: through the
 * index by type, a statement over a rare type walked every event of that type in the log, for
 * each batch — a rebuild that slows down as the log grows. (One other way in: lead-index reads the
 * dedupe of a page whose batch left kept leads out from that import's stream, by its index.)
 */
import { expect, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { type CompiledQuery, sql } from "kysely"
import { inlineProjections } from "../../projections/index.ts"
import { Database } from "../../src/db/Database.ts"
import { makeEventStore } from "../../src/eventstore/EventStore.ts"
import { Imports } from "../../src/imports/Imports.ts"
import { ImportStages } from "../../src/pipeline/ImportStages.ts"
import { localStageRunner } from "../../src/pipeline/LocalEngine.ts"
import { runImport } from "../../src/pipeline/runImport.ts"
import { countingLeadSource, servicesCounting } from "../support/counting-lead-source.ts"
import { backend, TestDatabase } from "../support/db.ts"
import { makeUser } from "../support/fixtures.ts"
import { nodesOf, preparedPlan, recording } from "../support/plans.ts"

const Services = servicesCounting(countingLeadSource()).pipe(
  Layer.provideMerge(TestDatabase()),
  Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({})))
)

layer(Services, { excludeTestServices: true })(`a rebuild step's statements (${backend})`, (it) => {
  it.effect("read their batch by its positions, planned for any values or for the batch's, over a log with rare types", () =>
    Effect.gen(function*() {
      const db = yield* Database
      // The log: a real import (every projection's statements run over real events, and are captured
      // as sent) between 40,000 old events (transactions 3 to 503, below any snapshot taken now) of
      // common types and of types rarer than a batch is long; analyzed.
      const old = (from: number) =>
        db.query((q) =>
          sql`insert into events (transaction_id, event_id, stream_id, version, type, schema_version, data, recorded_at)
              select (3 + g / 80)::text::xid8, gen_random_uuid(), 'old-' || (g % 400), g / 400 + 1,
                     case when g % 5000 = 0 then 'ImportRequested' when g % 5000 = 1 then 'ListCreated' when g % 5000 = 2 then 'CreditsReserved'
                       else (array['PageFetched','LeadsDeduped','BatchPersisted','CreditsCharged'])[g % 4 + 1] end,
                     1, '{}'::jsonb, now()
              from generate_series(${from}::int, ${from + 19_999}::int) g`.execute(q)
        )
      yield* old(1)
      const before = yield* db.query((q) => sql<{ p: number }>`select max(position)::int as p from events`.execute(q))
      const user = yield* makeUser({ credits: 100 })
      const imports = yield* Imports
      const stages = yield* ImportStages
      const url = `https://www.linkedin.com/sales/search/people?query=(replay-${crypto.randomUUID().slice(0, 8)})`
      const started = yield* imports.start(user.userId, { url, maxResults: 50, skipExistingCustomers: true }).pipe(Effect.orDie)
      yield* runImport(started.importId, started.runId, () => localStageRunner(stages))
      yield* old(20_001)
      yield* db.query((q) => sql`analyze events`.execute(q))

      // The import's events replayed (from a snapshot that sees the old events: they are not in it).
      const statements: Array<CompiledQuery> = []
      const store = makeEventStore({ ...db, query: (f) => db.query((q) => f(recording(q, statements))) })
      const { rows } = yield* db.query((q) => sql<{ s: string }>`select pg_current_snapshot()::text as s`.execute(q))
      const captured: Array<{ readonly projection: string; readonly statement: CompiledQuery }> = []
      for (const projection of inlineProjections) {
        statements.length = 0
        // Replayed into emptied tables, then rolled back: the statements run as a rebuild runs them.
        const replayed = yield* Effect.exit(db.transaction(Effect.gen(function*() {
          yield* db.query((q) => sql`truncate ${sql.join(projection.tables.map((t) => sql.table(t)))}`.execute(q))
          const batch = yield* store.replayBetween(
            { from: "504:504:", to: rows[0]!.s, types: projection.handles, afterPosition: before.rows[0]!.p, limit: 1000 },
            projection.fromLog!
          )
          expect(batch.events).toBeGreaterThan(0)
          expect(batch.complete).toBe(true)
          return yield* Effect.fail("roll back" as const)
        })))
        expect(String(replayed)).toContain("roll back")
        captured.push(...statements.map((statement) => ({ projection: projection.name, statement })))
      }
      expect(captured.length).toBeGreaterThan(inlineProjections.length)

      const wrong: Array<string> = []
      for (const { projection, statement } of captured) {
        for (const mode of ["generic", "custom"] as const) {
          const plan = yield* Effect.promise(() => preparedPlan(db.kysely, statement, mode))
          for (const node of nodesOf(plan)) {
            if (node["Relation Name"] !== "events") continue
            const byPosition = node["Index Name"] === "events_pkey" && /position/.test(node["Index Cond"] ?? "")
            // lead-index reads a batch's page dedupe (when the batch left kept leads out) in its import's stream.
            const inItsStream = projection === "lead-index" && node["Index Name"] === "events_stream_version_key" &&
              /stream_id = \('import-'/.test(node["Index Cond"] ?? "")
            if (!byPosition && !inItsStream) {
              wrong.push(`${projection} (${mode}): ${node["Node Type"]} ${node["Index Name"] ?? ""} ${node["Index Cond"] ?? ""}`)
            }
          }
        }
      }
      expect(wrong).toEqual([])
    }), 60_000)
})
