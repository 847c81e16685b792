/** What handlers of several groups answer with: the import status body and the shared errors. */
import type { ImportStatus } from "../Api.ts"
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
