/**
 * The contract's error for each way starting or cancelling an import can fail: one mapping,
 * so the HTTP API and the MCP tools (src/mcp) answer with the same codes and messages.
 */
import type { IdempotencyKeyInUse, IdempotencyKeyReused } from "../../imports/idempotency.ts"
import type { ImportAlreadyEnded, ImportNotEnqueued, ImportNotFound, ImportRejected } from "../../imports/Imports.ts"
import { apiError, BadRequest, Conflict, PaymentRequired, ServiceUnavailable, UnprocessableEntity } from "../errors.ts"
import { importNotFound, listForbidden } from "./responses.ts"

/** What `Imports.start` fails with that the caller can act on (the rate limit is an error of its own: 429). */
export type StartImportFailure = ImportRejected | IdempotencyKeyReused | IdempotencyKeyInUse | ImportNotEnqueued

export const START_IMPORT_FAILURES = ["ImportRejected", "IdempotencyKeyReused", "IdempotencyKeyInUse", "ImportNotEnqueued"] as const

const rejectionError = (rejection: ImportRejected["rejection"]) => {
  switch (rejection._tag) {
    case "InvalidUrl":
      return apiError(BadRequest, "INVALID_SALES_NAV_URL", rejection.message, [{ path: "url", message: rejection.message }])
    case "NoSalesNavAccount":
      return apiError(BadRequest, "NO_SALES_NAV_ACCOUNT", "No Sales Navigator account found")
    case "ListForbidden":
      return listForbidden
    case "InsufficientCredits":
      return apiError(PaymentRequired, "INSUFFICIENT_CREDITS", "No IMPORT_LEAD credits available: top up credits before importing")
  }
}

export const startImportError = (e: StartImportFailure) => {
  switch (e._tag) {
    case "ImportRejected":
      return rejectionError(e.rejection)
    case "IdempotencyKeyReused":
      return apiError(
        UnprocessableEntity,
        "IDEMPOTENCY_KEY_REUSED",
        "This Idempotency-Key was used with a different body: use a new key for a new import"
      )
    case "IdempotencyKeyInUse":
      return apiError(Conflict, "IDEMPOTENCY_KEY_IN_USE", "A request with this Idempotency-Key is still being processed: retry in a moment")
    case "ImportNotEnqueued":
      return apiError(
        ServiceUnavailable,
        "ENQUEUE_FAILED",
        `The import could not be scheduled and was cancelled (credits refunded): ${e.message}`
      )
  }
}

export const CANCEL_IMPORT_FAILURES = ["ImportNotFound", "ImportAlreadyEnded"] as const

export const cancelImportError = (e: ImportNotFound | ImportAlreadyEnded) =>
  e._tag === "ImportNotFound"
    ? importNotFound
    : apiError(Conflict, "IMPORT_ENDED", `The import has already ended (${e.status}); there is nothing to cancel`)
