/**
 * What an agent says to the human, in one line: where an import stands, what an import call
 * did, whether Sales Navigator is connected. Pure, from the same values the API answers with,
 * so the words never disagree with the numbers beside them.
 */
import type { ImportAccepted, ImportStatus, SalesNavAccess } from "../http/Api.ts"

type Status = typeof ImportStatus.Type

const count = new Intl.NumberFormat("en-US")
const n = (value: number) => count.format(value)
const leads = (value: number) => `${n(value)} lead${value === 1 ? "" : "s"}`

const REASONS: Record<NonNullable<Status["completionReason"]>, (s: Status) => string> = {
  cap_reached: (s) => `it reached its cap of ${leads(s.maxResults)}`,
  search_exhausted: () => "the search has no more results",
  reachable_limit: () => "Sales Navigator shows at most 2,500 results per search",
  upstream_truncated: () => "LinkedIn stopped returning results before the end of the search",
  canceled: () => "it was canceled"
}

const skipped = (s: Status): string => {
  const parts = [
    s.skippedDuplicate > 0 ? `${n(s.skippedDuplicate)} duplicate${s.skippedDuplicate === 1 ? "" : "s"}` : undefined,
    s.skippedExisting > 0 ? `${n(s.skippedExisting)} already in other lists` : undefined
  ].filter((p) => p !== undefined)
  return parts.length === 0 ? "" : `; skipped ${parts.join(" and ")}`
}

const credits = (s: Status) => `${n(s.creditsCharged)} credit${s.creditsCharged === 1 ? "" : "s"} charged, ${n(s.creditsRefunded)} refunded`

const capped = (s: Status) => s.wasCapped ? ` (capped from ${n(s.requested)} to the credits available)` : ""

/** One line about an import, for the human: its status, what it imported, what it cost. */
export const importSummary = (s: Status): string => {
  switch (s.status) {
    case "queued":
      return `Import ${s.runId} is queued: nothing imported yet, up to ${leads(s.maxResults)}${capped(s)}${
        s.cancelRequested ? "; a cancel was requested" : ""
      }.`
    case "running":
      return `Import ${s.runId} is running: ${leads(s.leadsImported)} of up to ${n(s.maxResults)} imported so far from ${n(s.pagesFetched)} page${
        s.pagesFetched === 1 ? "" : "s"
      }${capped(s)}${skipped(s)}${s.cancelRequested ? "; stopping, as a cancel was requested" : ""}.`
    case "completed":
      return `Import ${s.runId} completed: ${leads(s.leadsImported)} imported, as ${
        REASONS[s.completionReason ?? "search_exhausted"](s)
      }${capped(s)}${skipped(s)}; ${credits(s)}.`
    case "failed":
      return `Import ${s.runId} failed after importing ${leads(s.leadsImported)}: ${s.error ?? "unknown error"}; ${credits(s)}.`
    case "canceled":
      return `Import ${s.runId} was canceled after importing ${leads(s.leadsImported)}${skipped(s)}; ${credits(s)}.`
  }
}

type Accepted = typeof ImportAccepted.Type

/** One line about what an import call did: started an import, or answered an earlier identical call. */
export const importStartedSummary = (accepted: Accepted, replayed: boolean): string =>
  replayed
    ? `An identical call already started import ${accepted.runId} (list ${accepted.listId}): this is its answer again; no new import was started and nothing more was reserved. Follow it with get_import.`
    : `Import ${accepted.runId} started: up to ${leads(accepted.maxResults)} into list ${accepted.listId}. Follow it with get_import (or list_rows); a few thousand leads take several minutes.`

/** What to tell the human when the import was capped to the credits available; null when it was not. */
export const cappedAdvice = (accepted: Accepted, requested: number): string | null =>
  accepted.wasCapped
    ? `The import was shortened: it will import at most ${leads(accepted.maxResults)} instead of the ${
      n(requested)
    } asked for, because only ${n(accepted.maxResults)} IMPORT_LEAD credit${accepted.maxResults === 1 ? " was" : "s were"} available. Propose a credit top-up before re-running it for the rest.`
    : null

/** One line about Sales Navigator access, saying what to do when there is none. */
export const accessSummary = (access: typeof SalesNavAccess.Type): string =>
  access.account === null
    ? "No Sales Navigator account is connected: an import would fail with NO_SALES_NAV_ACCOUNT. Ask the human to connect a LinkedIn account with Sales Navigator first."
    : `Sales Navigator is connected through ${access.account.name}: imports can start.`
