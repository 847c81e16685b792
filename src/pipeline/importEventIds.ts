/**
 * The deterministic ids of the events an import records. A stage that records "page 3
 * fetched" always uses the same id for it, so running the stage twice — a retry, a replay,
 * a second engine — can never record it twice, and anyone can look a fact up by its id.
 */
import { eventIdFor } from "../../events/index.ts"

export const importEventIds = {
  started: (importId: string, runId: string) => eventIdFor(importId, "ImportStarted", runId),
  fetched: (importId: string, page: number) => eventIdFor(importId, "PageFetched", page),
  deduped: (importId: string, page: number) => eventIdFor(importId, "LeadsDeduped", page),
  persisted: (importId: string, page: number) => eventIdFor(importId, "BatchPersisted", page),
  charged: (importId: string, page: number) => eventIdFor(importId, "CreditsCharged", page),
  cancelRequested: (importId: string) => eventIdFor(importId, "ImportCancelRequested"),
  refunded: (importId: string) => eventIdFor(importId, "CreditsRefunded"),
  /** One id for ImportCompleted, ImportFailed and ImportCanceled: an import ends once. */
  ended: (importId: string) => eventIdFor(importId, "ImportEnded"),
  enqueued: (importId: string) => eventIdFor(importId, "ImportEnqueued")
}

/** The facts after which no page work may happen, in the order they are checked. */
export const haltEventIds = (importId: string) => [
  importEventIds.ended(importId),
  importEventIds.refunded(importId),
  importEventIds.cancelRequested(importId)
] as const
