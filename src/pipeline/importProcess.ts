/**
 * The sales-nav-import process as a pure decider: fold what the import's events say
 * happened (`evolve`), then `decide` the one next step. Re-running it at any point
 * continues from the last recorded stage, Temporal-style, because the state is
 * nothing but the events.
 *
 *   page n: FetchPage -> Dedupe -> Persist   (until the cap, the end of the search,
 *           or page 100 of Sales Navigator)
 *   then:   Refund (reserved - charged, recording why it ended) -> Finish
 *
 * A cancel request, a stage that failed for good, or a stage that found the import
 * halted by someone else (the API's cancel, the reconciler) turn the next step into
 * Refund -> Finish; a halted stage makes the orchestrator re-read the events first.
 *
 * The state is small (counters and a cursor): the leads themselves are never held.
 */
import {
  type CompletionReason,
  type DomainEvent,
  type ImportOutcome,
  ImportRequested
} from "../../events/index.ts"
import { MAX_REACHABLE, PAGE_SIZE } from "../leads/LeadSource.ts"

/** Sales Navigator serves 100 pages of a search. */
export const MAX_PAGES = MAX_REACHABLE / PAGE_SIZE

export interface ImportState {
  readonly request: ImportRequested | undefined
  /** The last page fetched (0: none yet), its size and the cursor after it. */
  readonly fetched: { readonly page: number; readonly leads: number; readonly nextCursor: string | null }
  /** Results fetched over all pages (repeats across pages included), and the total the search last reported. */
  readonly leadsFetched: number
  readonly totalAvailable: number | null
  readonly deduped: number
  readonly persisted: number
  /** Rows inserted so far (= credits charged). */
  readonly imported: number
  readonly refund: { readonly amount: number; readonly because: ImportOutcome } | undefined
  readonly cancelRequested: boolean
  readonly ended: boolean
  /** A stage failed for good in this run (not an event: the refund records it). */
  readonly failure: string | undefined
}

/** What the orchestrator learns from one event or one stage's result. */
export type Fact =
  | { readonly _tag: "Requested"; readonly request: ImportRequested }
  | {
    readonly _tag: "Fetched"
    readonly page: number
    readonly leads: number
    readonly nextCursor: string | null
    readonly totalAvailable: number | null
  }
  | { readonly _tag: "Deduped"; readonly page: number }
  | { readonly _tag: "Persisted"; readonly page: number; readonly imported: number }
  | { readonly _tag: "Refunded"; readonly amount: number; readonly because: ImportOutcome }
  | { readonly _tag: "CancelRequested" }
  | { readonly _tag: "Ended" }
  | { readonly _tag: "StageFailed"; readonly error: string }
  /** A stage did nothing: the import has ended, been refunded or asked to cancel (the events say which). */
  | { readonly _tag: "Halted"; readonly reason: HaltReason }

export type HaltReason = "ended" | "refunded" | "cancel_requested"

export type Action =
  | { readonly _tag: "FetchPage"; readonly page: number }
  | { readonly _tag: "Dedupe"; readonly page: number }
  | { readonly _tag: "Persist"; readonly page: number }
  | { readonly _tag: "Refund"; readonly because: ImportOutcome }
  | { readonly _tag: "Finish"; readonly because: ImportOutcome }
  | { readonly _tag: "Done" }

export const initialState: ImportState = {
  request: undefined,
  fetched: { page: 0, leads: 0, nextCursor: null },
  leadsFetched: 0,
  totalAvailable: null,
  deduped: 0,
  persisted: 0,
  imported: 0,
  refund: undefined,
  cancelRequested: false,
  ended: false,
  failure: undefined
}

/** The fact an event of the import records, if it matters to the process. */
export const factOf = (event: DomainEvent): Fact | undefined => {
  switch (event._tag) {
    case "ImportRequested":
      return { _tag: "Requested", request: event }
    case "PageFetched":
      return {
        _tag: "Fetched",
        page: event.page,
        leads: event.leads.length,
        nextCursor: event.nextCursor,
        totalAvailable: event.totalAvailable
      }
    case "LeadsDeduped":
      return { _tag: "Deduped", page: event.page }
    case "BatchPersisted":
      return { _tag: "Persisted", page: event.page, imported: event.rows.length }
    case "CreditsRefunded":
      return { _tag: "Refunded", amount: event.amount, because: event.because }
    case "ImportCancelRequested":
      return { _tag: "CancelRequested" }
    case "ImportCompleted":
    case "ImportFailed":
    case "ImportCanceled":
      return { _tag: "Ended" }
    default:
      return undefined
  }
}

export const evolve = (state: ImportState, fact: Fact): ImportState => {
  switch (fact._tag) {
    case "Requested":
      return { ...state, request: fact.request }
    case "Fetched":
      return {
        ...state,
        fetched: { page: fact.page, leads: fact.leads, nextCursor: fact.nextCursor },
        leadsFetched: state.leadsFetched + fact.leads,
        totalAvailable: fact.totalAvailable ?? state.totalAvailable
      }
    case "Deduped":
      return { ...state, deduped: fact.page }
    case "Persisted":
      return { ...state, persisted: fact.page, imported: state.imported + fact.imported }
    case "Refunded":
      return { ...state, refund: { amount: fact.amount, because: fact.because } }
    case "CancelRequested":
      return { ...state, cancelRequested: true }
    case "Ended":
      return { ...state, ended: true }
    case "StageFailed":
      return { ...state, failure: fact.error }
    case "Halted":
      // What halted it is in the events: the orchestrator reads them again before deciding.
      return state
  }
}

const completed = (reason: CompletionReason): ImportOutcome => ({ outcome: "completed", reason })

/**
 * The provider has no more results. Read to its end when at least min(total, 2,500) results
 * came back; fewer means the provider stopped early (`upstream_truncated`), which the user
 * must be told instead of a quiet success. An unknown total cannot be checked.
 */
export const endOfSearch = (state: Pick<ImportState, "leadsFetched" | "totalAvailable">): CompletionReason =>
  state.totalAvailable !== null && state.leadsFetched < Math.min(state.totalAvailable, MAX_REACHABLE)
    ? "upstream_truncated"
    : "search_exhausted"

export const decide = (state: ImportState): Action => {
  const { request, fetched } = state
  if (request === undefined || state.ended) return { _tag: "Done" }
  if (state.refund !== undefined) return { _tag: "Finish", because: state.refund.because }
  if (state.cancelRequested) return { _tag: "Refund", because: { outcome: "canceled" } }
  if (state.failure !== undefined) return { _tag: "Refund", because: { outcome: "failed", error: state.failure } }
  if (state.persisted < fetched.page) {
    return state.deduped < fetched.page ? { _tag: "Dedupe", page: fetched.page } : { _tag: "Persist", page: fetched.page }
  }
  // Every fetched page is imported: stop, or fetch the next one.
  if (state.imported >= request.maxResults) return { _tag: "Refund", because: completed("cap_reached") }
  if (fetched.page >= MAX_PAGES) return { _tag: "Refund", because: completed("reachable_limit") }
  if (fetched.page > 0 && (fetched.nextCursor === null || fetched.leads === 0)) {
    return { _tag: "Refund", because: completed(endOfSearch(state)) }
  }
  return { _tag: "FetchPage", page: fetched.page + 1 }
}
