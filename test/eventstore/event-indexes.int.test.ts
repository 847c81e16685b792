/**
 * No filter of the support event log scans the log: the statements readAll issues for each
 * filter (captured as the database receives them) are planned, over 20,000 events with
 * statistics, with the index made for that filter — never a sequential scan of `events`,
 * never a walk of the whole log in order, and a list of types as one index scan per type.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { CompiledQuery, sql } from "kysely"
import { Database, makeDatabase } from "../../src/db/Database.ts"
import { makeEventStore, type ReadAllOptions, type RecordedEvent } from "../../src/eventstore/EventStore.ts"
import { eventsAt } from "../../src/eventstore/Projection.ts"
import { TestDatabase } from "../support/db.ts"
import { nodesOf, preparedPlan, recording } from "../support/plans.ts"

layer(TestDatabase(), { excludeTestServices: true })("the event log's indexes", (it) => {
  it.effect("serve every filter of readAll", () =>
    Effect.gen(function*() {
      const db = yield* Database
      const statements: Array<CompiledQuery> = []
      const store = makeEventStore(makeDatabase(recording(db.kysely, statements), db.backend))
      const filters: ReadonlyArray<readonly [ReadAllOptions, ReadonlyArray<string>]> = [
        [{ correlationId: "corr-7" }, ["events_correlation_order"]],
        [{ userId: "user-3" }, ["events_user_order"]],
        [{ listId: "list-5" }, ["events_list_order"]],
        [{ streamId: "import-11" }, ["events_stream_version_key"]],
        [{ types: ["ImportCompleted"] }, ["events_type_order"]],
        [{ types: ["ImportCompleted", "ImportFailed", "ImportCanceled"] }, ["events_type_order"]],
        [{ recordedFrom: new Date(Date.now() - 3_600_000), recordedTo: new Date(Date.now() - 1_800_000) }, ["events_recorded_at"]]
      ]
      const captured: Array<CompiledQuery> = []
      for (const [options] of filters) {
        statements.length = 0
        yield* store.readAll({ ...options, limit: 100 })
        expect(statements.length).toBe(1)
        captured.push(statements[0]!)
      }

      // The log: 20,000 events in 500 transactions long finished (below any reader's horizon, whatever
      // else runs on the server), over 200 streams, 50 users, 40 lists and two weeks; as in an import's
      // log, most are page stages and endings are rare (1 in 100). (A common type is as well
      // read by walking the log in order: a page of 100 is found within a few hundred events.)
      yield* db.query((q) =>
        sql`insert into events (transaction_id, event_id, stream_id, version, type, schema_version, data, user_id, correlation_id, recorded_at)
            select (3 + g / 40)::text::xid8, gen_random_uuid(), 'import-' || (g % 200), g / 200 + 1,
                   case g % 100 when 0 then 'ImportCompleted' when 1 then 'ImportFailed' when 2 then 'ImportCanceled'
                     when 3 then 'ImportRequested' else (array['PageFetched','LeadsDeduped','BatchPersisted','CreditsCharged'])[g % 4 + 1] end,
                   1, case when g % 3 = 0 then jsonb_build_object('listId', 'list-' || (g % 40)) else '{}'::jsonb end,
                   'user-' || (g % 50), 'corr-' || (g % 200), now() - (g || ' minutes')::interval
            from generate_series(1, 20000) g`.execute(q)
      )
      yield* db.query((q) => sql`analyze events`.execute(q))

      for (const [i, [options, indexes]] of filters.entries()) {
        // Planned for their values, as reads outside a transaction are. With the log this small a scan
        // would be cheap: take it off the table, so what is left is what the planner would choose
        // among the indexes on a large log.
        const nodes = nodesOf(yield* Effect.promise(() => preparedPlan(db.kysely, captured[i]!, "custom", ["enable_seqscan = off"])))
        const what = JSON.stringify(options)
        const indexNames = nodes.map((n) => n["Index Name"]).filter((n) => n !== undefined)
        expect(nodes.filter((n) => n["Relation Name"] === "events" && n["Node Type"] === "Seq Scan"), what).toEqual([])
        expect(indexNames, what).not.toContain("events_pkey")
        expect(indexNames, what).not.toContain("events_global_order")
        for (const index of indexes) expect(indexNames, what).toContain(index)
        if ((options.types?.length ?? 0) > 1) {
          expect(nodes.filter((n) => n["Index Name"] === "events_type_order").length, what).toBe(options.types!.length)
        }
      }
    }))
})

layer(TestDatabase(), { excludeTestServices: true })("the events an inline projection applies", (it) => {
  it.effect("are read by a primary-key probe, even in a plan made before the log was ever analyzed", () =>
    Effect.gen(function*() {
      const db = yield* Database
      // A new database, its log never analyzed (autovacuum analyzes after 50 events, and a minute
      // may pass first), while the log grows fast: a plan kept from now (a prepared statement's
      // generic plan, for the connection's life) must not scan the log it becomes.
      const events = [41, 42, 43].map((position) => ({ position, type: "PageFetched" }) as RecordedEvent)
      const query = sql`select e.position, e.type, e.data, e.recorded_at from ${eventsAt(events)("PageFetched")} e`.compile(db.kysely)
      const plan = yield* Effect.promise(() => preparedPlan(db.kysely, query, "generic"))
      const nodes = nodesOf(plan)
      expect(nodes.filter((n) => n["Relation Name"] === "events" && n["Node Type"] !== "Index Scan")).toEqual([])
      expect(nodes.map((n) => n["Index Name"])).toContain("events_pkey")
    }))
})
