/**
 * A tool that fails answers with an MCP tool error (isError) whose content is the contract's
 * error body — the same `code` and `error` the HTTP API answers with (src/http/handlers/
 * importErrors.ts is the one mapping) — and, where an agent can act on it, a `hint` that says how.
 */
import { Schema } from "effect"
import { SERVICE_UNAVAILABLE } from "../http/errorEdges.ts"
import { ErrorDetail, TooManyRequests } from "../http/errors.ts"
import type { ImportRateLimited } from "../imports/ImportRateLimit.ts"

export const ToolError = Schema.Struct({
  success: Schema.Literal(false),
  code: Schema.String,
  error: Schema.String,
  details: Schema.optionalKey(Schema.Array(ErrorDetail)),
  hint: Schema.optionalKey(Schema.String.annotate({ description: "What to do about it." }))
}).annotate({ identifier: "ToolError" })
export type ToolError = typeof ToolError.Type

const HINTS: Record<string, string> = {
  NO_SALES_NAV_ACCOUNT:
    "The user has not connected a LinkedIn account with Sales Navigator yet: ask the human to connect one, then check get_sales_nav_access.",
  INVALID_SALES_NAV_URL:
    "Ask the human for a Sales Navigator people search URL (https://www.linkedin.com/sales/search/people?query=...) or a lead list URL (/sales/lists/people/<id>).",
  INSUFFICIENT_CREDITS: "The user has no IMPORT_LEAD credits left: tell the human and propose a credit top-up (get_credits shows the balance).",
  LIST_FORBIDDEN: "listId is not one of the user's lists: omit listId to import into a new list, or ask the human which list to use.",
  IMPORT_NOT_FOUND: "No import of this user has that runId: list_imports shows the user's imports.",
  IMPORT_ENDED: "The import has already ended: get_import says how.",
  IDEMPOTENCY_KEY_REUSED: "That idempotencyKey was used with other arguments: pass a new key to start a new import.",
  IDEMPOTENCY_KEY_IN_USE: "The same call is still being processed: call again in a moment with the same arguments; it answers with the same import.",
  RATE_LIMITED: "Too many imports were started: wait the seconds it says, then call again with the same arguments.",
  ENQUEUE_FAILED: "Nothing was charged: the same call can be made again in a while.",
  SERVICE_UNAVAILABLE: "The service's database is unreachable for the moment and nothing was done: call again in a few seconds with the same arguments."
}

/** The contract's error body (any of the API's error classes), with a hint when there is one. */
export const toolError = (e: { readonly code: string; readonly error: string; readonly details?: ReadonlyArray<ErrorDetail> | undefined }): ToolError => ({
  success: false,
  code: e.code,
  error: e.error,
  ...(e.details !== undefined ? { details: e.details } : {}),
  ...(HINTS[e.code] !== undefined ? { hint: HINTS[e.code] } : {})
})

const encodeRateLimited = Schema.encodeSync(TooManyRequests)

/** 429 RATE_LIMITED as the API writes its body. */
export const rateLimitedError = (e: ImportRateLimited): ToolError => toolError(encodeRateLimited(e).body)

/** The database unreachable, inside a tool: the API's 503 body (SERVICE_UNAVAILABLE), not an internal error. */
export const serviceUnavailableError: ToolError = toolError(SERVICE_UNAVAILABLE)
