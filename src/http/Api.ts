/**
 * The HTTP contract (test/contract/openapi.yaml), as an effect HttpApi definition.
 *
 * Schemas, bounds, status codes and error bodies live here and nowhere else; the
 * server implements it (src/http/server.ts), the OpenAPI document at /openapi.json
 * is generated from it, and a test compares that document with the contract.
 * This module imports nothing from the server.
 */
import { Schema } from "effect"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware, HttpApiSchema, OpenApi } from "effect/http-api"
import { isStorableText } from "../leads/cleanText.ts"
import { ACCESS_GUIDANCE, IMPORT_GUIDANCE, QUICK_START, ROWS_GUIDANCE } from "./guide.ts"
import {
  BadRequest,
  Conflict,
  Forbidden,
  NotFound,
  PayloadTooLarge,
  PaymentRequired,
  ServiceUnavailable,
  TooManyRequests,
  UnprocessableEntity
} from "./errors.ts"
import { parseAsOf } from "../support/asOf.ts"
import { AdminAuthorization, Authorization, SupportAuthorization } from "./Security.ts"

// --- shared shapes ---

const UUID_PATTERN =
  /^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$/u

export const Uuid = Schema.String.check(Schema.isPattern(UUID_PATTERN, { expected: "a UUID" })).annotate({
  identifier: "Uuid"
})

export const RunId = Schema.String.check(Schema.isPattern(/^run_[A-Za-z0-9]{16,40}$/u, { expected: "a run id (run_...)" }))
  .annotate({
    identifier: "RunId",
    description: "Trigger.dev run id of the sales-nav-import task (the local engine mints ids of the same form)."
  })

const SafeInt = Schema.Int.check(
  Schema.isGreaterThanOrEqualTo(Number.MIN_SAFE_INTEGER),
  Schema.isLessThanOrEqualTo(Number.MAX_SAFE_INTEGER)
)
const DateTimeString = Schema.String.annotate({ format: "date-time" })

/**
 * Text as a caller sends it, which the database must be able to store: no NUL character and
 * no unpaired UTF-16 surrogate (JSON allows both; PostgreSQL rejects them with a 500).
 */
const Storable = Schema.makeFilter((text: string) =>
  isStorableText(text) ? undefined : "must not contain NUL characters or unpaired UTF-16 surrogates"
)
export const Text = Schema.String.check(Storable)

/** Text that says something: not only whitespace. */
const NotBlank = Schema.makeFilter((text: string) => text.trim() === "" ? "must not be blank" : undefined)

// --- imports ---

export const ImportRequest = Schema.Struct({
  url: Schema.String.annotate({
    format: "uri",
    description: "LinkedIn Sales Navigator people search URL (https, host linkedin.com or www.linkedin.com): a people search /sales/search/people that names a search (a query, savedSearchId or recentSearchId parameter), or a lead list /sales/lists/people/<id>. Anything else is rejected with 400 INVALID_SALES_NAV_URL: company and account URLs (/sales/search/company, /sales/company/..., /sales/lists/company/...), a single lead's page (/sales/lead/..., /sales/people/...), the saved-searches index, a people search that names no search, classic LinkedIn search URLs and any other host."
  }).check(Storable),
  listId: Schema.optionalKey(Uuid),
  listName: Schema.optionalKey(
    Text.check(Schema.isMinLength(1), Schema.isMaxLength(200), NotBlank).annotate({
      description: "Name for the new list when listId is omitted. Default \"Sales Nav Import - mm/dd/yyyy\" (UTC date of the request)."
    })
  ),
  maxResults: Schema.optionalKey(
    Schema.Int.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(Number.MAX_SAFE_INTEGER)).annotate({
      default: 2500,
      description: "Upper bound on leads imported into the list (= IMPORT_LEAD credits charged). Leads skipped as duplicates or existing customers cost nothing; the task keeps paging until it has imported this many, the search ends, or the 2,500 results that Sales Navigator exposes per search are exhausted. Reserved credits not charged are refunded when the import ends."
    })
  ),
  skipExistingCustomers: Schema.optionalKey(Schema.Boolean.annotate({ default: true }))
}).annotate({ identifier: "ImportRequest" })
export type ImportRequest = typeof ImportRequest.Type

export const ImportAccepted = Schema.Struct({
  success: Schema.Literal(true),
  listId: Uuid,
  runId: RunId,
  maxResults: SafeInt.annotate({ description: "Effective cap = min(requested maxResults, available IMPORT_LEAD credits)." }),
  wasCapped: Schema.Boolean.annotate({ description: "True iff maxResults < the requested value." })
}).annotate({ identifier: "ImportAccepted" })

export const ImportStatus = Schema.Struct({
  runId: RunId,
  listId: Uuid,
  status: Schema.Literals(["queued", "running", "completed", "failed", "canceled"]),
  requested: Schema.Int,
  maxResults: Schema.Int,
  wasCapped: Schema.Boolean,
  totalAvailable: Schema.NullOr(Schema.Int).annotate({ description: "What the search reports upstream, when known." }),
  pagesFetched: Schema.Int,
  leadsFetched: Schema.Int,
  leadsImported: Schema.Int,
  skippedExisting: Schema.Int.annotate({ description: "Skipped because already in the caller's other lists." }),
  skippedDuplicate: Schema.Int.annotate({ description: "Skipped because already in this list or twice in the search." }),
  overCap: Schema.Int.annotate({ description: "Fetched and kept, but not imported because the import reached maxResults." }),
  creditsReserved: Schema.Int,
  creditsCharged: Schema.Int.annotate({ description: "Equals leadsImported." }),
  creditsRefunded: Schema.Int.annotate({ description: "creditsReserved - creditsCharged once the import has ended." }),
  completionReason: Schema.NullOr(
    Schema.Literals(["cap_reached", "search_exhausted", "reachable_limit", "upstream_truncated", "canceled"])
  ).annotate({
    description: "Why the import ended. upstream_truncated: the provider stopped returning results before min(totalAvailable, 2,500) had been fetched, so the search was not read to its end."
  }),
  cancelRequested: Schema.Boolean.annotate({
    description: "True once a cancel was asked; the import stops after the stage in flight."
  }),
  error: Schema.NullOr(Schema.String),
  createdAt: DateTimeString,
  updatedAt: DateTimeString
}).annotate({ identifier: "ImportStatus" })

export const AuditEvent = Schema.Struct({
  eventId: Schema.String,
  streamId: Schema.String,
  version: Schema.Int,
  type: Schema.String.annotate({ examples: ["ImportRequested"] }),
  data: Schema.Record(Schema.String, Schema.Unknown),
  metadata: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown)),
  recordedAt: DateTimeString
})

const RunIdParams = { runId: RunId }

/** The key that makes a POST safe to retry (printable ASCII, 1-255 characters). */
export const IdempotencyKey = Schema.String.check(
  Schema.isMinLength(1),
  Schema.isMaxLength(255),
  Schema.isPattern(/^[\x21-\x7E]+$/u, { expected: "printable ASCII without spaces" })
).annotate({
  description: "Optional; makes a retry safe (beyond the seed, which warns that each call starts a new run). The same key with the same body, from the same user within 24 hours, answers the first request's 200 again (same runId and listId; nothing new reserved, created or enqueued) with the header Idempotent-Replayed true. Keys are scoped per user."
})

/** A 200 to the POST, with `Idempotent-Replayed: true` when it is the answer to an earlier request with the same key. */
export const ImportAcceptedResponse = HttpApiSchema.WithHeaders(ImportAccepted, {
  "idempotent-replayed": Schema.optionalKey(Schema.Literal("true").annotate({
    description: "Present (true) when this is the first request's answer again, for the same Idempotency-Key and body."
  }))
})

export const ImportListQuery = {
  status: Schema.optionalKey(Schema.Literals(["queued", "running", "completed", "failed", "canceled"])),
  limit: Schema.optionalKey(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(1), Schema.isLessThanOrEqualTo(100)).annotate({ default: 20 })
  ),
  offset: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).annotate({ default: 0 }))
}

export const ImportList = Schema.Struct({
  imports: Schema.Array(ImportStatus),
  total: Schema.Int,
  limit: Schema.Int,
  offset: Schema.Int,
  hasMore: Schema.Boolean
})

/** The stream's body as the OpenAPI document describes it; the handler writes the events itself. */
export const ImportEventStream = Schema.String.pipe(HttpApiSchema.asText({ contentType: "text/event-stream" })).annotate({
  description: "Server-Sent Events: \"progress\" (data: ImportStatus, at once and on every change), \"rows\" (data: {\"rows\": [Lead, ...]}, each persisted row exactly once, in list order), \"end\" (data: the final ImportStatus; then the server closes the stream). Every event has an id; reconnect with Last-Event-ID to get what came after it, nothing missed and nothing twice. Comment lines (\": keep-alive\") keep an idle stream alive. Browsers' EventSource cannot send an Authorization header: read the stream with fetch() and a reader."
})

// --- lists ---

export const Lead = Schema.Struct({
  id: Uuid,
  listId: Uuid,
  linkedinUrl: Schema.NullOr(Schema.String),
  salesNavUrl: Schema.optionalKey(Schema.NullOr(Schema.String)),
  profileData: Schema.Struct({
    firstName: Schema.String,
    lastName: Schema.String,
    fullName: Schema.String,
    headline: Schema.optionalKey(Schema.NullOr(Schema.String)),
    currentRole: Schema.optionalKey(Schema.NullOr(Schema.String)),
    currentCompany: Schema.optionalKey(Schema.NullOr(Schema.String)),
    location: Schema.optionalKey(Schema.NullOr(Schema.String))
  }),
  source: Schema.Literal("sales_nav"),
  runId: Schema.optionalKey(RunId),
  addedAt: DateTimeString
}).annotate({ identifier: "Lead" })

const ListParams = { listId: Uuid }

export const ListSummary = Schema.Struct({
  id: Uuid,
  name: Schema.String,
  rowCount: Schema.Int,
  createdAt: DateTimeString
})

/**
 * Query parameters travel as strings, so the generated document would describe their
 * encoded form (string + numeric pattern); document the decoded integers instead.
 */
const documentQueryAsDecoded = (fields: Record<string, Schema.Top>) => (operation: Record<string, any>) => ({
  ...operation,
  parameters: (operation.parameters ?? []).map((p: { name: string; in: string }) =>
    p.in === "query" && fields[p.name] !== undefined
      ? { ...p, schema: Schema.toJsonSchemaDocument(fields[p.name]!).schema }
      : p
  )
})

export const ListRowsQuery = {
  limit: Schema.optionalKey(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(1), Schema.isLessThanOrEqualTo(500)).annotate({ default: 100 })
  ),
  offset: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).annotate({ default: 0 }))
}

export const ListRows = Schema.Struct({
  rows: Schema.Array(Lead),
  total: Schema.Int,
  limit: Schema.Int,
  offset: Schema.Int,
  hasMore: Schema.Boolean
})

export const SalesNavAccess = Schema.Struct({
  hasSalesNavigator: Schema.Boolean,
  account: Schema.NullOr(Schema.Struct({
    id: Uuid,
    name: Schema.String,
    providerAccountId: Schema.optionalKey(Schema.NullOr(Schema.String))
  }))
})

export const Credits = Schema.Struct({
  balance: Schema.Int.annotate({ description: "Granted minus charged." }),
  reserved: Schema.Int.annotate({ description: "Held by imports that have not ended." }),
  available: Schema.Int.annotate({ description: "balance - reserved; what the next import can use." })
})

// --- support ---

/** An ISO 8601 date-time (a date alone is its midnight UTC). */
const IsoDateTime = Schema.String.annotate({ format: "date-time" }).check(Schema.makeFilter((text: string) =>
  parseAsOf(text)?._tag === "Time" ? undefined : "must be an ISO 8601 date-time of years 0001 to 9999 (UTC), e.g. 2025-01-31T12:00:00Z"
))

export const SupportEventsQuery = {
  runId: Schema.optionalKey(RunId),
  userId: Schema.optionalKey(Uuid),
  listId: Schema.optionalKey(Uuid),
  streamId: Schema.optionalKey(Schema.String),
  type: Schema.optionalKey(Schema.Array(Schema.String)),
  from: Schema.optionalKey(IsoDateTime),
  to: Schema.optionalKey(IsoDateTime),
  after: Schema.optionalKey(Schema.String.annotate({ description: "Opaque position to continue after." })),
  limit: Schema.optionalKey(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(1), Schema.isLessThanOrEqualTo(1000)).annotate({ default: 100 })
  )
}

export const LogEvent = Schema.Struct({
  position: Schema.String.annotate({ description: "The event's place in the log: an `after` for /api/support/events, an `asOf` for rows." }),
  eventId: Schema.String,
  streamId: Schema.String,
  version: Schema.Int,
  type: Schema.String,
  data: Schema.Record(Schema.String, Schema.Unknown),
  metadata: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown)),
  recordedAt: DateTimeString
})

export const SupportEvents = Schema.Struct({
  events: Schema.Array(LogEvent),
  next: Schema.NullOr(Schema.String).annotate({ description: "Pass as after for the next page; null at the end of the log." })
})

export const ImportTimeline = Schema.Struct({
  userId: Uuid,
  import: ImportStatus,
  timeline: Schema.Array(Schema.Struct({
    at: DateTimeString,
    type: Schema.String,
    page: Schema.NullOr(Schema.Int),
    summary: Schema.String.annotate({ examples: ["page 3: 25 fetched (2,500 available)"] })
  })).annotate({
    description: "One entry per recorded step (request, reservation, each page's fetch, dedupe and persist, charges, cancel, refund, end), oldest first."
  })
})

export const ProjectionStates = Schema.Struct({
  projections: Schema.Array(Schema.Struct({
    name: Schema.String,
    version: Schema.Int.annotate({ description: "Generation of its tables; a rebuild writes the next one." }),
    status: Schema.Literals(["live", "rebuilding"]),
    lag: Schema.Int.annotate({ description: "Events of the log this projection has not applied yet." }),
    rebuild: Schema.NullOr(Schema.Struct({
      version: Schema.Int,
      processed: Schema.Int,
      total: Schema.Int,
      eventsPerSecond: Schema.Finite
    }))
  }))
})

export const RebuildStarted = Schema.Struct({ name: Schema.String, version: Schema.Int }).pipe(HttpApiSchema.status(202))

export const RowsAsOfQuery = {
  asOf: Schema.String.check(Schema.makeFilter((text: string) =>
    parseAsOf(text) === undefined ? "must be an ISO 8601 time of years 0001 to 9999 (UTC) or a position from /api/support/events" : undefined
  )).annotate({ description: "An ISO 8601 time, or a position from /api/support/events." }),
  ...ListRowsQuery
}

export const RowsAsOf = Schema.Struct({ rows: Schema.Array(Lead), total: Schema.Int, asOf: Schema.String })

// --- groups ---

export class ImportsGroup extends HttpApiGroup.make("imports")
  .add(
    HttpApiEndpoint.post("importSalesNav", "/api/lists/import-sales-nav", {
      headers: { "idempotency-key": Schema.optionalKey(IdempotencyKey) },
      payload: ImportRequest,
      success: ImportAcceptedResponse,
      error: [BadRequest, PaymentRequired, Forbidden, Conflict, UnprocessableEntity, PayloadTooLarge, TooManyRequests, ServiceUnavailable]
    }).annotate(OpenApi.Summary, "Import leads from a Sales Navigator URL")
      .annotate(OpenApi.Description, IMPORT_GUIDANCE),
    HttpApiEndpoint.get("listImports", "/api/imports", {
      query: ImportListQuery,
      success: ImportList,
      error: [BadRequest]
    }).annotate(OpenApi.Summary, "The caller's imports, newest first")
      .annotate(OpenApi.Transform, documentQueryAsDecoded(ImportListQuery)),
    HttpApiEndpoint.get("streamImport", "/api/imports/:runId/stream", {
      params: RunIdParams,
      headers: { "last-event-id": Schema.optionalKey(Schema.String) },
      success: ImportEventStream,
      error: [BadRequest, NotFound]
    }).annotate(OpenApi.Summary, "Live progress of one import (Server-Sent Events)"),
    HttpApiEndpoint.get("getImport", "/api/imports/:runId", {
      params: RunIdParams,
      success: ImportStatus,
      error: [BadRequest, NotFound]
    }).annotate(OpenApi.Summary, "Status and counters of one import (the import-progress projection)"),
    HttpApiEndpoint.post("cancelImport", "/api/imports/:runId/cancel", {
      params: RunIdParams,
      success: ImportStatus.annotate({
        description: "The import's status with cancelRequested true (status canceled once it has stopped)."
      }),
      error: [BadRequest, NotFound, Conflict]
    }).annotate(OpenApi.Summary, "Cancel an import")
      .annotate(OpenApi.Description, "Stops the import after the stage in flight (on Trigger.dev too), keeps the rows already imported, refunds every reserved credit not charged, exactly once, and ends the import as canceled (completionReason canceled). Asking again while it stops answers 200 again; once it has ended, 409 IMPORT_ENDED."),
    HttpApiEndpoint.get("getImportEvents", "/api/imports/:runId/events", {
      params: RunIdParams,
      success: Schema.Struct({ events: Schema.Array(AuditEvent) }),
      error: [BadRequest, NotFound]
    }).annotate(OpenApi.Summary, "Audit log of one import, in order (every event of its streams)")
  )
  .middleware(Authorization)
{}

export class ListsGroup extends HttpApiGroup.make("lists")
  .add(
    HttpApiEndpoint.get("salesNavAccess", "/api/lists/sales-nav-access", { success: SalesNavAccess })
      .annotate(OpenApi.Summary, "getSalesNavAccess — does the caller have a Sales Navigator-enabled LinkedIn account?")
      .annotate(OpenApi.Description, ACCESS_GUIDANCE),
    HttpApiEndpoint.get("getList", "/api/lists/:listId", {
      params: ListParams,
      success: ListSummary,
      error: [BadRequest, Forbidden]
    }).annotate(OpenApi.Summary, "One list of the caller"),
    HttpApiEndpoint.get("listRows", "/api/lists/:listId/rows", {
      params: ListParams,
      query: ListRowsQuery,
      success: ListRows,
      error: [BadRequest, Forbidden]
    }).annotate(OpenApi.Summary, "Rows of a list, oldest first (the list-rows projection)")
      .annotate(OpenApi.Description, ROWS_GUIDANCE)
      .annotate(OpenApi.Transform, documentQueryAsDecoded(ListRowsQuery)),
    HttpApiEndpoint.get("credits", "/api/credits", { success: Credits })
      .annotate(OpenApi.Summary, "The caller's IMPORT_LEAD credits")
  )
  .middleware(Authorization)
{}

export class AdminGroup extends HttpApiGroup.make("admin")
  .add(
    HttpApiEndpoint.post("createUser", "/api/admin/users", {
      payload: Schema.Struct({
        email: Text.check(Schema.isMinLength(3), Schema.isMaxLength(320), NotBlank),
        credits: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).annotate({ default: 0 })),
        salesNavigator: Schema.optionalKey(Schema.Boolean.annotate({
          default: false,
          description: "Also connect a LinkedIn account with has_sales_navigator = true."
        }))
      }),
      success: Schema.Struct({ userId: Uuid, tokenId: Uuid, token: Schema.String.annotate({ description: "Shown once." }) }),
      error: [BadRequest, Conflict, PayloadTooLarge]
    }).annotate(OpenApi.Summary, "Create a user and an API token (admin)"),
    HttpApiEndpoint.post("issueToken", "/api/admin/users/:userId/tokens", {
      params: { userId: Uuid },
      success: Schema.Struct({ tokenId: Uuid, token: Schema.String.annotate({ description: "Shown once." }) }),
      error: [BadRequest, NotFound]
    }).annotate(OpenApi.Summary, "Issue another API token for a user (admin)"),
    HttpApiEndpoint.delete("revokeToken", "/api/admin/tokens/:tokenId", {
      params: { tokenId: Uuid },
      error: [BadRequest, NotFound]
    }).annotate(OpenApi.Summary, "Revoke an API token (admin); it stops working at once"),
    HttpApiEndpoint.post("grantCredits", "/api/admin/users/:userId/credits", {
      params: { userId: Uuid },
      payload: Schema.Struct({ amount: SafeInt }),
      success: Schema.Struct({ balance: Schema.Int, available: Schema.Int }),
      error: [BadRequest, NotFound, PayloadTooLarge]
    }).annotate(OpenApi.Summary, "Grant (or with a negative amount, remove) IMPORT_LEAD credits (admin)"),
    HttpApiEndpoint.post("connectLinkedinAccount", "/api/admin/users/:userId/linkedin-accounts", {
      params: { userId: Uuid },
      payload: Schema.Struct({
        name: Text.check(Schema.isMinLength(1), Schema.isMaxLength(200), NotBlank),
        hasSalesNavigator: Schema.Boolean,
        providerAccountId: Schema.optionalKey(Text.check(Schema.isMaxLength(200)))
      }),
      success: Schema.Struct({ id: Uuid }),
      error: [BadRequest, NotFound, PayloadTooLarge]
    }).annotate(OpenApi.Summary, "Connect a LinkedIn account to a user (admin)")
  )
  .middleware(AdminAuthorization)
{}

export class SupportGroup extends HttpApiGroup.make("support")
  .add(
    HttpApiEndpoint.get("supportEvents", "/api/support/events", {
      query: SupportEventsQuery,
      success: SupportEvents,
      error: [BadRequest]
    }).annotate(OpenApi.Summary, "Query the event log (support)")
      .annotate(
        OpenApi.Description,
        "Events in log order, filtered by any combination of the query parameters; page with after = the previous answer's next. Requires the SUPPORT_TOKEN. The log order is the order events became visible to readers (by transaction, then position), so a reader that pages with after — or follows the log — gets every event exactly once, even one whose transaction committed late."
      )
      .annotate(OpenApi.Transform, documentQueryAsDecoded({
        type: Schema.String.annotate({ description: "Event type; repeat or comma-separate for several." }),
        from: IsoDateTime,
        to: IsoDateTime,
        limit: SupportEventsQuery.limit
      })),
    HttpApiEndpoint.get("supportImport", "/api/support/imports/:runId", {
      params: RunIdParams,
      success: ImportTimeline,
      error: [BadRequest, NotFound]
    }).annotate(OpenApi.Summary, "One import's timeline for support — any user's import"),
    HttpApiEndpoint.get("supportProjections", "/api/support/projections", { success: ProjectionStates })
      .annotate(OpenApi.Summary, "Every projection's state (support)"),
    HttpApiEndpoint.post("rebuildProjection", "/api/support/projections/:name/rebuild", {
      params: { name: Schema.String },
      success: RebuildStarted,
      error: [NotFound, Conflict]
    }).annotate(OpenApi.Summary, "Rebuild a projection from the first event, while the current version keeps serving")
      .annotate(
        OpenApi.Description,
        "Replays the whole log into the next version of the projection's tables, catches up with the events appended meanwhile, then switches readers atomically. Reads are never interrupted and no event is lost. Asking while a rebuild of it runs answers 409."
      ),
    HttpApiEndpoint.get("rowsAsOf", "/api/support/lists/:listId/rows", {
      params: ListParams,
      query: RowsAsOfQuery,
      success: RowsAsOf,
      error: [BadRequest, NotFound]
    }).annotate(OpenApi.Summary, "A list's rows as they were at a point in time or in the log (support)")
      .annotate(
        OpenApi.Description,
        "Computed from the list's events up to asOf, not read from the projection: a prefix of today's rows, in the same order. A time takes every batch of rows recorded before the first one recorded after it."
      )
      .annotate(OpenApi.Transform, documentQueryAsDecoded(RowsAsOfQuery))
  )
  .middleware(SupportAuthorization)
{}

/** Turns request decoding failures into 400 VALIDATION_FAILED / INVALID_JSON bodies (server.ts). */
export class ValidationErrors extends HttpApiMiddleware.Service<ValidationErrors>()("app/http/ValidationErrors", {
  error: BadRequest
}) {}

export class Api extends HttpApi.make("sales-nav-import")
  .add(ImportsGroup)
  .add(ListsGroup)
  .add(AdminGroup)
  .add(SupportGroup)
  .middleware(ValidationErrors)
  // Report every offending field, and reject unknown ones (the contract's additionalProperties: false).
  .annotate(HttpApi.PayloadParseOptions, { errors: "all", onExcessProperty: "error" })
  .annotate(HttpApi.QueryParseOptions, { errors: "all" })
  .annotate(HttpApi.ParamsParseOptions, { errors: "all" })
  .annotateMerge(OpenApi.annotations({
    title: "Sales Navigator import API",
    version: "1",
    description: QUICK_START
  }))
{}

