/** What handlers of several groups answer with: the import status, lead and audit event bodies, and the shared errors. */
import { type BatchPersisted, eventCodec, profileOf } from "../../../events/index.ts"
import type { RecordedEvent } from "../../eventstore/EventStore.ts"
import type { ImportStatus, Lead } from "../Api.ts"
import type { ListRow } from "../../lists/Lists.ts"
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

/** A row of the list-rows projection as the API shows a lead. */
export const toLead = (r: ListRow): typeof Lead.Type => ({
  id: r.id,
  listId: r.listId,
  linkedinUrl: r.linkedinUrl,
  salesNavUrl: r.salesNavUrl,
  profileData: r.profileData,
  source: "sales_nav",
  runId: r.runId,
  addedAt: iso(r.addedAt)
})

/** A recorded event as the audit log and the support API show it. */
export const toAuditEvent = (e: RecordedEvent) => ({
  eventId: e.eventId,
  streamId: e.streamId,
  version: e.version,
  type: e.type,
  // The event as stored: the codec's encoding, the one way events leave the store.
  data: eventCodec.encode(e.event).data,
  metadata: { ...e.metadata },
  recordedAt: e.recordedAt.toISOString()
})
