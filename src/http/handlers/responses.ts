/** What handlers of several groups answer with: the import status and lead bodies, and the shared errors. */
import { type BatchPersisted, profileOf } from "../../../events/index.ts"
import type { RecordedEvent } from "../../eventstore/EventStore.ts"
import type { ImportStatus, Lead } from "../Api.ts"
import { apiError, Forbidden, NotFound } from "../errors.ts"
import type { ImportRow } from "../../imports/Imports.ts"

export const iso = (d: Date | string) => new Date(d).toISOString()

export const toImportStatus = (row: ImportRow): typeof ImportStatus.Type => ({
  runId: row.run_id!,
  listId: row.list_id,
  status: row.status,
  requested: Number(row.requested),
  maxResults: Number(row.max_results),
  wasCapped: row.was_capped,
  totalAvailable: row.total_available,
  pagesFetched: row.pages_fetched,
  leadsFetched: row.leads_fetched,
  leadsImported: row.leads_imported,
  skippedExisting: row.skipped_existing,
  skippedDuplicate: row.skipped_duplicate,
  overCap: row.over_cap,
  creditsReserved: Number(row.credits_reserved),
  creditsCharged: Number(row.credits_charged),
  creditsRefunded: Number(row.credits_refunded),
  completionReason: row.completion_reason as typeof ImportStatus.Type["completionReason"],
  cancelRequested: row.cancel_requested,
  error: row.error,
  createdAt: iso(row.created_at),
  updatedAt: iso(row.updated_at)
})

export const importNotFound = apiError(NotFound, "IMPORT_NOT_FOUND", "No import of yours has this runId")
export const listForbidden = apiError(Forbidden, "LIST_FORBIDDEN", "List not found or not yours")

/** The rows a persisted batch put in its list, as GET /api/lists/{listId}/rows shows them. */
export const rowsOf = (recorded: RecordedEvent<BatchPersisted>): ReadonlyArray<typeof Lead.Type> =>
  recorded.event.rows.map(({ rowId, lead }) => ({
    id: rowId,
    listId: recorded.event.listId,
    linkedinUrl: lead.linkedinUrl,
    salesNavUrl: lead.salesNavUrl,
    profileData: profileOf(lead),
    source: "sales_nav" as const,
    runId: recorded.event.runId,
    addedAt: iso(recorded.recordedAt)
  }))
