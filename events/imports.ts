/** Events of one Sales Navigator import (stream `import-<importId>`). */
import { Schema } from "effect"
import { Lead } from "./lead.ts"

const Count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
const Page = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))

export class ImportRequested extends Schema.TaggedClass<ImportRequested>()("ImportRequested", {
  importId: Schema.String,
  userId: Schema.String,
  listId: Schema.String,
  /** The caller's Sales Navigator-enabled LinkedIn account the search runs on. */
  accountId: Schema.String,
  url: Schema.String,
  /** maxResults as asked; `maxResults` is what the credits allowed. */
  requested: Schema.Int,
  maxResults: Schema.Int,
  wasCapped: Schema.Boolean,
  skipExistingCustomers: Schema.Boolean
}) {}

export class ListResolved extends Schema.TaggedClass<ListResolved>()("ListResolved", {
  importId: Schema.String,
  listId: Schema.String,
  created: Schema.Boolean
}) {}

export class ImportEnqueued extends Schema.TaggedClass<ImportEnqueued>()("ImportEnqueued", {
  importId: Schema.String,
  runId: Schema.String,
  engine: Schema.Literals(["local", "trigger"])
}) {}

/**
 * Someone asked to cancel the import (its owner, through the API). Recorded before anything
 * else is done about it, so whatever runs next — a stage, the engine, the reconciler — sees it.
 */
export class ImportCancelRequested extends Schema.TaggedClass<ImportCancelRequested>()("ImportCancelRequested", {
  importId: Schema.String,
  /** Who asked: the user id, or `reconciler` / `trigger.dev` when the run was canceled outside the API. */
  requestedBy: Schema.String
}) {}

export class ImportStarted extends Schema.TaggedClass<ImportStarted>()("ImportStarted", {
  importId: Schema.String,
  runId: Schema.String
}) {}

export class PageFetched extends Schema.TaggedClass<PageFetched>()("PageFetched", {
  importId: Schema.String,
  page: Page,
  leads: Schema.Array(Lead),
  /** Cursor for the next page; null when the search has no more. */
  nextCursor: Schema.NullOr(Schema.String),
  /** What the search reports upstream (can exceed the 2,500 reachable). */
  totalAvailable: Schema.NullOr(Count)
}) {}

export const DedupeOutcome = Schema.Literals(["kept", "duplicate", "existing"])
export type DedupeOutcome = typeof DedupeOutcome.Type

export const DedupeDecision = Schema.Struct({
  /** Index into the page's leads. */
  index: Count,
  /** The lead's identity keys (see src/pipeline/identity.ts). */
  keys: Schema.Array(Schema.String),
  /** kept; duplicate = already in this list or seen earlier in this import; existing = in another list of the user. */
  outcome: DedupeOutcome,
  /** The key that matched, for a skipped lead. */
  matchedKey: Schema.NullOr(Schema.String)
})
export type DedupeDecision = typeof DedupeDecision.Type

export class LeadsDeduped extends Schema.TaggedClass<LeadsDeduped>()("LeadsDeduped", {
  importId: Schema.String,
  page: Page,
  /** One decision per lead of the page, in page order. */
  decisions: Schema.Array(DedupeDecision),
  kept: Count,
  skippedDuplicate: Count,
  skippedExisting: Count
}) {}

export const PersistedRow = Schema.Struct({
  rowId: Schema.String,
  /** Index into the page's leads. */
  index: Count,
  lead: Lead,
  /** Identity keys of the lead (see src/pipeline/identity.ts), for the lead index. */
  keys: Schema.Array(Schema.String)
})
export type PersistedRow = typeof PersistedRow.Type

export class BatchPersisted extends Schema.TaggedClass<BatchPersisted>()("BatchPersisted", {
  importId: Schema.String,
  userId: Schema.String,
  listId: Schema.String,
  runId: Schema.String,
  page: Page,
  rows: Schema.Array(PersistedRow),
  /** Kept leads not inserted because the import reached its maxResults. */
  overCap: Count,
  /** Kept leads that another import put in the list between dedupe and persist. */
  lateDuplicates: Count,
  /** Kept leads that another import put in another list between dedupe and persist. */
  lateExisting: Count
}) {}

/**
 * Why a completed import stopped paging. `upstream_truncated`: the provider stopped before
 * min(totalAvailable, 2,500) results had been fetched, so the search was not read to its end.
 */
export const CompletionReason = Schema.Literals(["cap_reached", "search_exhausted", "reachable_limit", "upstream_truncated"])
export type CompletionReason = typeof CompletionReason.Type

/** How an import ended: recorded with its refund, so a restart finishes it the same way. */
export const ImportOutcome = Schema.Union([
  Schema.Struct({ outcome: Schema.Literal("completed"), reason: CompletionReason }),
  Schema.Struct({ outcome: Schema.Literal("failed"), error: Schema.String }),
  Schema.Struct({ outcome: Schema.Literal("canceled") })
])
export type ImportOutcome = typeof ImportOutcome.Type

export class ImportCompleted extends Schema.TaggedClass<ImportCompleted>()("ImportCompleted", {
  importId: Schema.String,
  reason: CompletionReason,
  leadsImported: Count,
  creditsCharged: Count,
  creditsRefunded: Count
}) {}

/** The import was canceled: the rows it imported stay, the rest of its reservation was refunded. */
export class ImportCanceled extends Schema.TaggedClass<ImportCanceled>()("ImportCanceled", {
  importId: Schema.String,
  leadsImported: Count,
  creditsCharged: Count,
  creditsRefunded: Count
}) {}

export class ImportFailed extends Schema.TaggedClass<ImportFailed>()("ImportFailed", {
  importId: Schema.String,
  error: Schema.String,
  leadsImported: Count,
  creditsCharged: Count,
  creditsRefunded: Count
}) {}
