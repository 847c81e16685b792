/**
 * Where leads come from: one page of a Sales Navigator people search at a time.
 *
 * The one true edge of the system. `fake` (default) is a deterministic synthetic
 * population with configurable latency and faults; `unipile` is the real provider.
 * Chosen by LEAD_SOURCE.
 */
import { Context, Schema } from "effect"
import type { Effect } from "effect"
import type { Lead } from "../../events/lead.ts"

/** Sales Navigator serves 25 people a page and at most 100 pages: 2,500 reachable per search. */
export const PAGE_SIZE = 25
export const MAX_REACHABLE = 2500

export interface PageRequest {
  /** Our LinkedIn account id (the account the search runs on). */
  readonly accountId: string
  /** The provider's id for that account (Unipile account_id); null when not connected through one. */
  readonly providerAccountId: string | null
  /** The Sales Navigator search URL, exactly as the user gave it (never re-encoded). */
  readonly url: string
  /** 1-based page number. */
  readonly page: number
  /** Cursor returned with the previous page; null for the first page. */
  readonly cursor: string | null
}

export interface LeadPage {
  readonly leads: ReadonlyArray<Lead>
  /** Cursor of the next page; null when the search has no more results. */
  readonly nextCursor: string | null
  /** What the search reports upstream (may exceed the 2,500 reachable); null when unknown. */
  readonly totalAvailable: number | null
}

/**
 * A failed page. `transient` failures (429, 5xx, network) are worth retrying, after
 * `retryAfterMs` when the source asks for a wait; `permanent` ones (restricted or
 * disconnected account, no Sales Navigator subscription, the service's provider key
 * rejected, a provider that restarted or repeated the search) end the import, and
 * their message says who must do what (the Unipile codes: unipileErrorTable).
 */
export class LeadSourceError extends Schema.TaggedError<LeadSourceError>()("LeadSourceError", {
  kind: Schema.Literals(["transient", "permanent"]),
  /**
   * Stable machine code, e.g. rate_limited, upstream_unavailable, network, timeout, account_restricted,
   * linkedin_reconnect_required, sales_navigator_required, provider_auth_failed, page_repeated, paging_mismatch.
   */
  code: Schema.String,
  message: Schema.String,
  retryAfterMs: Schema.optional(Schema.Number)
}) {}

export class LeadSource extends Context.Service<LeadSource, {
  readonly name: string
  fetchPage(request: PageRequest): Effect.Effect<LeadPage, LeadSourceError>
}>()("app/leads/LeadSource") {}
