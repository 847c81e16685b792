/**
 * An import's story in words: one entry per recorded step, without the leads themselves (the
 * whole trail of a 100-page import is ~2 MB; its timeline a few KB). Support staff read it from
 * the support API and the CLI, agents as an MCP resource.
 */
import type { DomainEvent, ImportOutcome } from "../../events/index.ts"
import type { RecordedEvent } from "../eventstore/EventStore.ts"

export interface TimelineEntry {
  readonly at: Date
  readonly type: string
  /** The page the step is about, for the page stages and their charges. */
  readonly page: number | null
  readonly summary: string
}

const count = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`
const words = (code: string) => code.replace(/_/g, " ")

const outcome = (because: ImportOutcome) =>
  because.outcome === "completed" ? `completed, ${words(because.reason)}` : because.outcome === "failed" ? "failed" : "canceled"

const totals = (e: { readonly leadsImported: number; readonly creditsCharged: number; readonly creditsRefunded: number }) =>
  `${count(e.leadsImported, "lead")} imported, ${count(e.creditsCharged, "credit")} charged, ${e.creditsRefunded.toLocaleString("en-US")} refunded`

/** What one recorded event says, as a timeline entry. */
export const timelineEntry = (event: DomainEvent, recordedAt: Date): TimelineEntry => {
  const entry = (summary: string, page: number | null = null): TimelineEntry => ({ at: recordedAt, type: event._tag, page, summary })
  switch (event._tag) {
    case "ListCreated":
      return entry(`list "${event.name}" created`)
    case "CreditsGranted":
      return entry(`${count(event.amount, "credit")} granted (${event.reason})`)
    case "ImportRequested":
      return entry(
        `requested: up to ${count(event.maxResults, "lead")}` +
          (event.wasCapped ? ` (asked ${event.requested.toLocaleString("en-US")}, capped to the credits available)` : "") +
          (event.skipExistingCustomers ? ", skipping leads in the user's other lists" : "")
      )
    case "ListResolved":
      return entry(`into ${event.created ? "a new" : "an existing"} list ${event.listId}`)
    case "CreditsReserved":
      return entry(`${count(event.amount, "credit")} reserved`)
    case "ImportEnqueued":
      return entry(`enqueued on the ${event.engine} engine as ${event.runId}`)
    case "ImportStarted":
      return entry(`started (${event.runId})`)
    case "PageFetched":
      return entry(
        `page ${event.page}: ${event.leads.length.toLocaleString("en-US")} fetched` +
          (event.totalAvailable === null ? "" : ` (${event.totalAvailable.toLocaleString("en-US")} available)`) +
          (event.nextCursor === null ? ", the last page" : ""),
        event.page
      )
    case "LeadsDeduped":
      return entry(
        `page ${event.page}: ${event.kept.toLocaleString("en-US")} kept, ${count(event.skippedDuplicate, "duplicate")}, ` +
          `${event.skippedExisting.toLocaleString("en-US")} already in other lists`,
        event.page
      )
    case "BatchPersisted": {
      const skipped = event.overCap + event.lateDuplicates + event.lateExisting
      return entry(
        `page ${event.page}: ${event.rows.length.toLocaleString("en-US")} imported` +
          (skipped === 0
            ? ""
            : ` (${[
              event.overCap > 0 ? `${event.overCap} over the cap` : "",
              event.lateDuplicates > 0 ? `${count(event.lateDuplicates, "late duplicate")}` : "",
              event.lateExisting > 0 ? `${event.lateExisting} added to other lists meanwhile` : ""
            ].filter((s) => s !== "").join(", ")})`),
        event.page
      )
    }
    case "CreditsCharged":
      return entry(`page ${event.page}: ${count(event.amount, "credit")} charged`, event.page)
    case "ImportCancelRequested":
      return entry(`cancel requested by ${event.requestedBy}`)
    case "CreditsRefunded":
      return entry(`${count(event.amount, "credit")} refunded (${outcome(event.because)})`)
    case "ImportCompleted":
      return entry(`completed, ${words(event.reason)}: ${totals(event)}`)
    case "ImportFailed":
      return entry(`failed: ${event.error} (${totals(event)})`)
    case "ImportCanceled":
      return entry(`canceled: ${totals(event)}`)
    default: {
      const unknown: never = event
      return unknown
    }
  }
}

/** The timeline as text: `<recordedAt> <type>: <summary>`, one line per event in the order recorded (line breaks in its text become spaces). */
export const timelineText = (events: ReadonlyArray<RecordedEvent>): string =>
  events.map((e) => {
    const entry = timelineEntry(e.event, e.recordedAt)
    return `${entry.at.toISOString()} ${entry.type}: ${entry.summary.replace(/[\r\n\u2028\u2029]+/g, " ")}`
  }).join("\n")
