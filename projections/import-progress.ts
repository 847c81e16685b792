/**
 * imports: status and counters of every import — what GET /api/imports/{runId}
 * serves. Every counter is a sum over the import's events, so a replay rebuilds it.
 *
 * Set-based: `importChanges` folds a batch into one insert per new import and one change
 * per import (counters as increments, the rest as "set" or "keep"), written with two
 * statements however many events — the same rows as applying the events one by one.
 */
import { sql } from "kysely"
import type { DomainEvent } from "../events/index.ts"
import { columnList, jsonRows } from "../src/db/sql.ts"
import type { RecordedEvent } from "../src/eventstore/EventStore.ts"
import { applyWrites, type Projection, type Writes } from "../src/eventstore/Projection.ts"

const counters = [
  "pages_fetched",
  "leads_fetched",
  "leads_imported",
  "skipped_existing",
  "skipped_duplicate",
  "over_cap",
  "credits_reserved",
  "credits_charged",
  "credits_refunded"
] as const
type Counter = typeof counters[number]

/** A new import's row. */
export interface ImportInsert {
  readonly import_id: string
  readonly user_id: string
  readonly list_id: string
  readonly url: string
  readonly requested: number
  readonly max_results: number
  readonly was_capped: boolean
  readonly skip_existing_customers: boolean
  readonly created_at: string
}

/** What a batch changes on one import's row. `null` keeps the column as it is. */
export interface ImportChange extends Record<Counter, number> {
  readonly import_id: string
  /** `running_if_queued`: running unless it has moved past queued already. */
  status: "running_if_queued" | "completed" | "failed" | "canceled" | null
  /** `set` (ImportEnqueued) or `coalesce` (ImportStarted: only when none is known yet). */
  run_id_mode: "set" | "coalesce" | null
  run_id: string | null
  engine: string | null
  total_available_set: boolean
  total_available: number | null
  completion_reason: string | null
  error: string | null
  cancel_requested: boolean
  updated_at: string
}

const insertColumns = {
  import_id: "uuid",
  user_id: "uuid",
  list_id: "uuid",
  url: "text",
  requested: "bigint",
  max_results: "bigint",
  was_capped: "boolean",
  skip_existing_customers: "boolean",
  created_at: "timestamptz"
}

const changeColumns = {
  import_id: "uuid",
  status: "text",
  run_id_mode: "text",
  run_id: "text",
  engine: "text",
  total_available_set: "boolean",
  total_available: "integer",
  completion_reason: "text",
  error: "text",
  cancel_requested: "boolean",
  updated_at: "timestamptz",
  ...Object.fromEntries(counters.map((c) => [c, "bigint"]))
}

/** The batch's new imports, and per import what its events change, in the order they came. */
export const importChanges = (events: ReadonlyArray<RecordedEvent>) => {
  const inserts: Array<ImportInsert> = []
  const changes = new Map<string, ImportChange>()
  for (const { event, recordedAt } of events) {
    if (event._tag === "ImportRequested") {
      inserts.push({
        import_id: event.importId,
        user_id: event.userId,
        list_id: event.listId,
        url: event.url,
        requested: event.requested,
        max_results: event.maxResults,
        was_capped: event.wasCapped,
        skip_existing_customers: event.skipExistingCustomers,
        created_at: recordedAt.toISOString()
      })
      continue
    }
    if (!("importId" in event)) continue
    const change = changes.get(event.importId) ?? unchanged(event.importId)
    change.updated_at = recordedAt.toISOString()
    evolve(change, event)
    changes.set(event.importId, change)
  }
  return { inserts, changes: [...changes.values()] }
}

const unchanged = (importId: string): ImportChange => ({
  import_id: importId,
  status: null,
  run_id_mode: null,
  run_id: null,
  engine: null,
  total_available_set: false,
  total_available: null,
  completion_reason: null,
  error: null,
  cancel_requested: false,
  updated_at: "",
  ...Object.fromEntries(counters.map((c) => [c, 0])) as Record<Counter, number>
})

/** Folds one event into the import's change (the effect of applying it after the ones before). */
const evolve = (change: ImportChange, event: DomainEvent): void => {
  const running = () => {
    if (change.status === null) change.status = "running_if_queued"
  }
  switch (event._tag) {
    case "ImportEnqueued":
      change.run_id_mode = "set"
      change.run_id = event.runId
      change.engine = event.engine
      return
    case "ImportStarted":
      running()
      // The run id is also learnt here, in case the dispatch could not record it.
      if (change.run_id_mode === null) {
        change.run_id_mode = "coalesce"
        change.run_id = event.runId
      }
      return
    case "PageFetched":
      running()
      change.pages_fetched += 1
      change.leads_fetched += event.leads.length
      change.total_available_set = true
      change.total_available = event.totalAvailable
      return
    case "LeadsDeduped":
      change.skipped_duplicate += event.skippedDuplicate
      change.skipped_existing += event.skippedExisting
      return
    case "BatchPersisted":
      change.leads_imported += event.rows.length
      change.over_cap += event.overCap
      change.skipped_duplicate += event.lateDuplicates
      change.skipped_existing += event.lateExisting
      return
    case "CreditsReserved":
      change.credits_reserved += event.amount
      return
    case "CreditsCharged":
      change.credits_charged += event.amount
      return
    case "CreditsRefunded":
      change.credits_refunded += event.amount
      return
    case "ImportCompleted":
      change.status = "completed"
      change.completion_reason = event.reason
      return
    case "ImportFailed":
      change.status = "failed"
      change.error = event.error
      return
    case "ImportCancelRequested":
      change.cancel_requested = true
      return
    case "ImportCanceled":
      change.status = "canceled"
      change.completion_reason = "canceled"
      return
    default:
      return
  }
}

const writes = (events: ReadonlyArray<RecordedEvent>): Writes => {
  const { inserts, changes } = importChanges(events)
  const insert = inserts.length > 0
    ? [sql`insert into imports (${columnList(insertColumns)}, status, updated_at)
          select ${columnList(insertColumns)}, 'queued', created_at from ${jsonRows(inserts, insertColumns)}
          on conflict (import_id) do nothing`]
    : []
  const update = changes.length > 0
    ? [sql`update imports i set
          status = case
            when r.status is null then i.status
            when r.status = 'running_if_queued' then (case when i.status = 'queued' then 'running' else i.status end)
            else r.status end,
          run_id = case r.run_id_mode when 'set' then r.run_id when 'coalesce' then coalesce(i.run_id, r.run_id) else i.run_id end,
          engine = coalesce(r.engine, i.engine),
          total_available = case when r.total_available_set then r.total_available else i.total_available end,
          completion_reason = coalesce(r.completion_reason, i.completion_reason),
          error = coalesce(r.error, i.error),
          cancel_requested = i.cancel_requested or r.cancel_requested,
          pages_fetched = i.pages_fetched + r.pages_fetched,
          leads_fetched = i.leads_fetched + r.leads_fetched,
          leads_imported = i.leads_imported + r.leads_imported,
          skipped_existing = i.skipped_existing + r.skipped_existing,
          skipped_duplicate = i.skipped_duplicate + r.skipped_duplicate,
          over_cap = i.over_cap + r.over_cap,
          credits_reserved = i.credits_reserved + r.credits_reserved,
          credits_charged = i.credits_charged + r.credits_charged,
          credits_refunded = i.credits_refunded + r.credits_refunded,
          updated_at = r.updated_at
            from ${jsonRows(changes, changeColumns)} where i.import_id = r.import_id`]
    : []
  // The update must see the rows the insert adds: two steps when there are both.
  return insert.length > 0 && update.length > 0 ? [insert, update] : [[...insert, ...update]].filter((s) => s.length > 0)
}

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
  apply: applyWrites(writes),
  writes
}
