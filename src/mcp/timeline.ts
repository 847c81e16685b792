/**
 * An import's audit log as an agent can read it: one line per event, in order — what was asked,
 * each page fetched, deduplicated and added, each credit reserved, charged and refunded, how it
 * ended. The full events (every lead, every dedupe key) are GET /api/imports/{runId}/events;
 * this is their story in a few kilobytes instead of megabytes.
 */
import type { DomainEvent } from "../../events/index.ts"
import type { RecordedEvent } from "../eventstore/EventStore.ts"

const n = (value: number) => new Intl.NumberFormat("en-US").format(value)
const plural = (value: number, word: string) => `${n(value)} ${word}${value === 1 ? "" : "s"}`

/** What one event says, in words. */
export const describeEvent = (event: DomainEvent): string => {
  switch (event._tag) {
    case "ImportRequested":
      return `asked for ${plural(event.requested, "lead")} from ${event.url}${
        event.wasCapped ? `, capped to ${n(event.maxResults)} by the credits available` : ""
      }; skipExistingCustomers ${event.skipExistingCustomers}`
    case "ListCreated":
      return `list "${event.name}" created (${event.listId})`
    case "ListResolved":
      return `into ${event.created ? "the new" : "the existing"} list ${event.listId}`
    case "CreditsGranted":
      return `${plural(event.amount, "credit")} granted (${event.reason})`
    case "CreditsReserved":
      return `${plural(event.amount, "credit")} reserved`
    case "ImportEnqueued":
      return `handed to the ${event.engine === "trigger" ? "Trigger.dev" : "local"} engine as ${event.runId}`
    case "ImportStarted":
      return `run ${event.runId} started`
    case "PageFetched":
      return `page ${event.page}: ${plural(event.leads.length, "lead")} fetched${
        event.totalAvailable === null ? "" : ` (the search reports ${n(event.totalAvailable)})`
      }${event.nextCursor === null ? "; no more pages" : ""}`
    case "LeadsDeduped":
      return `page ${event.page}: ${n(event.kept)} kept, ${plural(event.skippedDuplicate, "duplicate")} skipped, ${
        n(event.skippedExisting)
      } already in other lists skipped`
    case "BatchPersisted":
      return `page ${event.page}: ${plural(event.rows.length, "row")} added to the list${
        event.overCap > 0 ? `, ${n(event.overCap)} over the cap left out` : ""
      }${event.lateDuplicates + event.lateExisting > 0 ? `, ${n(event.lateDuplicates + event.lateExisting)} added meanwhile by another import` : ""}`
    case "CreditsCharged":
      return `page ${event.page}: ${plural(event.amount, "credit")} charged`
    case "ImportCancelRequested":
      return `cancel requested by ${event.requestedBy}`
    case "CreditsRefunded":
      return `${plural(event.amount, "credit")} refunded (${
        event.because.outcome === "completed"
          ? `completed: ${event.because.reason}`
          : event.because.outcome === "failed"
          ? `failed: ${event.because.error}`
          : "canceled"
      })`
    case "ImportCompleted":
      return `completed (${event.reason}): ${plural(event.leadsImported, "lead")} imported, ${n(event.creditsCharged)} charged, ${
        n(event.creditsRefunded)
      } refunded`
    case "ImportCanceled":
      return `canceled: ${plural(event.leadsImported, "lead")} imported, ${n(event.creditsCharged)} charged, ${n(event.creditsRefunded)} refunded`
    case "ImportFailed":
      return `failed: ${event.error}; ${plural(event.leadsImported, "lead")} imported, ${n(event.creditsCharged)} charged, ${
        n(event.creditsRefunded)
      } refunded`
  }
}

/** The timeline: `<recordedAt> <type>: <what it says>`, one line per event (line breaks in its text become spaces), in the order recorded. */
export const timeline = (events: ReadonlyArray<RecordedEvent>): string =>
  events.map((e) => `${e.recordedAt.toISOString()} ${e.type}: ${describeEvent(e.event).replace(/[\r\n\u2028\u2029]+/g, " ")}`).join("\n")
