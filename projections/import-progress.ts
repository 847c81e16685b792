/**
 * imports: status and counters of every import — what GET /api/imports/{runId}
 * serves. Every counter is a sum over the import's events, so a replay rebuilds it.
 */
import { Effect } from "effect"
import type { ExpressionBuilder, UpdateObject } from "kysely"
import type { DomainEvent } from "../events/index.ts"
import { Database } from "../src/db/Database.ts"
import type { DB } from "../src/db/schema.ts"
import type { Projection } from "../src/eventstore/Projection.ts"

export const importProgressProjection: Projection = {
  name: "import-progress",
  handles: [
    "ImportRequested",
    "ImportEnqueued",
    "ImportStarted",
    "PageFetched",
    "LeadsDeduped",
    "BatchPersisted",
    "CreditsReserved",
    "CreditsCharged",
    "CreditsRefunded",
    "ImportCompleted",
    "ImportFailed",
    "ImportCancelRequested",
    "ImportCanceled"
  ],
  tables: ["imports"],
  apply: (events) =>
    Effect.gen(function*() {
      const db = yield* Database
      for (const { event, recordedAt } of events) {
        if (event._tag === "ImportRequested") {
          yield* db.query((q) =>
            q.insertInto("imports").values({
              import_id: event.importId,
              user_id: event.userId,
              list_id: event.listId,
              status: "queued",
              url: event.url,
              requested: event.requested,
              max_results: event.maxResults,
              was_capped: event.wasCapped,
              skip_existing_customers: event.skipExistingCustomers,
              created_at: recordedAt,
              updated_at: recordedAt
            }).onConflict((oc) => oc.column("import_id").doNothing()).execute()
          )
          continue
        }
        const importId = "importId" in event ? event.importId : undefined
        if (importId === undefined) continue
        yield* db.query((q) =>
          q.updateTable("imports").set((eb) => ({ ...changeFor(event, eb), updated_at: recordedAt }))
            .where("import_id", "=", importId).execute()
        )
      }
    })
}

type Counter =
  | "pages_fetched"
  | "leads_fetched"
  | "leads_imported"
  | "skipped_existing"
  | "skipped_duplicate"
  | "over_cap"
  | "credits_reserved"
  | "credits_charged"
  | "credits_refunded"

/** What one event changes on its import's row (counters as increments). */
const changeFor = (event: DomainEvent, eb: ExpressionBuilder<DB, "imports">): UpdateObject<DB, "imports"> => {
  const add = (column: Counter, n: number) => eb(column, "+", n)
  const running = eb.case().when("status", "=", "queued").then("running" as const).else(eb.ref("status")).end()
  switch (event._tag) {
    case "ImportEnqueued":
      return { run_id: event.runId, engine: event.engine }
    case "ImportStarted":
      // The run id is also learnt here, in case the dispatch could not record it.
      return { status: running, run_id: eb.fn.coalesce("run_id", eb.val(event.runId)) }
    case "PageFetched":
      return {
        status: running,
        pages_fetched: add("pages_fetched", 1),
        leads_fetched: add("leads_fetched", event.leads.length),
        total_available: event.totalAvailable
      }
    case "LeadsDeduped":
      return {
        skipped_duplicate: add("skipped_duplicate", event.skippedDuplicate),
        skipped_existing: add("skipped_existing", event.skippedExisting)
      }
    case "BatchPersisted":
      return {
        leads_imported: add("leads_imported", event.rows.length),
        over_cap: add("over_cap", event.overCap),
        skipped_duplicate: add("skipped_duplicate", event.lateDuplicates),
        skipped_existing: add("skipped_existing", event.lateExisting)
      }
    case "CreditsReserved":
      return { credits_reserved: add("credits_reserved", event.amount) }
    case "CreditsCharged":
      return { credits_charged: add("credits_charged", event.amount) }
    case "CreditsRefunded":
      return { credits_refunded: add("credits_refunded", event.amount) }
    case "ImportCompleted":
      return { status: "completed", completion_reason: event.reason }
    case "ImportFailed":
      return { status: "failed", error: event.error }
    case "ImportCancelRequested":
      return { cancel_requested: true }
    case "ImportCanceled":
      return { status: "canceled", completion_reason: "canceled" }
    default:
      return {}
  }
}
