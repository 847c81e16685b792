/**
 * The HTTP server: handlers for the Api (one line into a service each), the
 * authorization middleware, and the edges that give every failure the contract's
 * JSON error body — schema errors, bodies over 64 KiB, unknown routes, defects.
 */
import { ByteSize, Config, Effect, Layer, Option, Redacted, SchemaIssue } from "effect"
import { HttpIncomingMessage, HttpRouter, HttpServerError, HttpServerRequest, HttpServerResponse } from "effect/http"
import { HttpApiBuilder, HttpApiMiddleware, HttpApiScalar } from "effect/http-api"
import { createHash, timingSafeEqual } from "node:crypto"
import { eventCodec } from "../../events/index.ts"
import { Accounts } from "../accounts/Accounts.ts"
import { Credits } from "../credits/Credits.ts"
import { Imports, type ImportRow } from "../imports/Imports.ts"
import { Lists } from "../lists/Lists.ts"
import { Api, type ImportStatus, ValidationErrors } from "./Api.ts"
import {
  apiError,
  BadRequest,
  type ErrorDetail,
  Forbidden,
  NotFound,
  PaymentRequired,
  ServiceUnavailable,
  Unauthorized,
  Conflict
} from "./errors.ts"
import { AdminAuthorization, Authorization, CurrentUser } from "./Security.ts"

/** Request bodies above this answer 413 (the contract's limit). */
export const MAX_BODY_BYTES = 64 * 1024

// --- authorization ---

const unauthorized = (message: string) => apiError(Unauthorized, "UNAUTHORIZED", message)

const AuthorizationLive = Layer.effect(
  Authorization,
  Effect.gen(function*() {
    const accounts = yield* Accounts
    return Authorization.of({
      bearer: (httpEffect, { credential }) =>
        Effect.gen(function*() {
          const user = yield* accounts.authenticate(Redacted.value(credential)).pipe(Effect.orDie)
          if (Option.isNone(user)) return yield* Effect.fail(unauthorized("Missing or unknown bearer token"))
          return yield* Effect.provideService(httpEffect, CurrentUser, user.value)
        })
    })
  })
)

/**
 * Whether `given` is `expected`, in constant time whatever their lengths: both are hashed to
 * 32 bytes first, so neither the comparison nor an early length check tells a caller anything.
 */
export const sameSecret = (given: string, expected: string): boolean =>
  timingSafeEqual(createHash("sha256").update(given).digest(), createHash("sha256").update(expected).digest())

const AdminAuthorizationLive = Layer.effect(
  AdminAuthorization,
  Effect.gen(function*() {
    const adminToken = yield* Config.option(Config.Redacted("ADMIN_TOKEN"))
    const expected = Option.filter(Option.map(adminToken, Redacted.value), (t) => t !== "")
    return AdminAuthorization.of({
      bearer: (httpEffect, { credential }) =>
        Option.isNone(expected)
          ? Effect.fail(unauthorized("The admin API is disabled: ADMIN_TOKEN is not set"))
          : sameSecret(Redacted.value(credential), expected.value)
          ? httpEffect
          : Effect.fail(unauthorized("Missing or wrong admin token"))
    })
  })
)

// --- request validation: every schema failure is a 400 with the fields named ---

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

const ValidationErrorsLive = HttpApiMiddleware.layerSchemaErrorTransform(ValidationErrors, (error) => {
  if (error.kind === "Body" || error.kind === "ResponseHeaders") return Effect.die(error)
  const issues = formatIssues(error.cause.issue).issues
  if (error.kind === "Payload" && issues.some((i) => i.message === "Expected a valid JSON body")) {
    return Effect.fail(apiError(BadRequest, "INVALID_JSON", "Malformed JSON body"))
  }
  const where = { Payload: "body", Query: "query", Params: "path", Headers: "headers" }[error.kind] ?? error.kind
  // One detail per offending field (the contract's rule), its messages joined.
  const byPath = new Map<string, Array<string>>()
  for (const issue of issues) {
    // The offending field's path ("maxResults", "profile.name"); the slot itself when the whole value is wrong.
    const path = (issue.path ?? []).map((p) => String(typeof p === "object" && p !== null ? (p as { key: PropertyKey }).key : p))
      .join(".") || where
    byPath.set(path, [...(byPath.get(path) ?? []), issue.message])
  }
  const details: Array<ErrorDetail> = [...byPath].map(([path, messages]) => ({ path, message: messages.join("; ") }))
  return Effect.fail(apiError(BadRequest, "VALIDATION_FAILED", `Invalid request ${where}`, details))
})

// --- handlers ---

const iso = (d: Date | string) => new Date(d).toISOString()

const toImportStatus = (row: ImportRow) => ({
  runId: row.run_id!,
  listId: row.list_id,
  status: row.status,
  requested: Number(row.requested),
  maxResults: Number(row.max_results),
  wasCapped: row.was_capped,
  totalAvailable: row.total_available,
  pagesFetched: row.pages_fetched,
  leadsFetched: row.leads_fetched,
  leadsImported: row.leads_imported,
  skippedExisting: row.skipped_existing,
  skippedDuplicate: row.skipped_duplicate,
  overCap: row.over_cap,
  creditsReserved: Number(row.credits_reserved),
  creditsCharged: Number(row.credits_charged),
  creditsRefunded: Number(row.credits_refunded),
  completionReason: row.completion_reason as typeof ImportStatus.Type["completionReason"],
  cancelRequested: row.cancel_requested,
  error: row.error,
  createdAt: iso(row.created_at),
  updatedAt: iso(row.updated_at)
})

const importNotFound = apiError(NotFound, "IMPORT_NOT_FOUND", "No import of yours has this runId")
const listForbidden = apiError(Forbidden, "LIST_FORBIDDEN", "List not found or not yours")

const ImportsHandlers = HttpApiBuilder.group(Api, "imports", Effect.fn(function*(handlers) {
  const imports = yield* Imports
  /** The caller's import with this run id, or 404 (another user's import is not told apart). */
  const callersImport = (runId: string) =>
    Effect.gen(function*() {
      const user = yield* CurrentUser
      const row = yield* imports.findByRunId(user.id, runId).pipe(Effect.orDie)
      return Option.isSome(row) ? row.value : yield* Effect.fail(importNotFound)
    })
  return handlers
    .handle("importSalesNav", ({ payload }) =>
      Effect.gen(function*() {
        const user = yield* CurrentUser
        const started = yield* imports.start(user.id, {
          url: payload.url,
          listId: payload.listId,
          listName: payload.listName,
          maxResults: payload.maxResults ?? 2500,
          skipExistingCustomers: payload.skipExistingCustomers ?? true
        })
        return {
          success: true as const,
          listId: started.listId,
          runId: started.runId,
          maxResults: started.maxResults,
          wasCapped: started.wasCapped
        }
      }).pipe(
        Effect.catchTags({
          ImportRejected: ({ rejection }) => {
            switch (rejection._tag) {
              case "InvalidUrl":
                return Effect.fail(apiError(BadRequest, "INVALID_SALES_NAV_URL", rejection.message, [
                  { path: "url", message: rejection.message }
                ]))
              case "NoSalesNavAccount":
                return Effect.fail(apiError(BadRequest, "NO_SALES_NAV_ACCOUNT", "No Sales Navigator account found"))
              case "ListForbidden":
                return Effect.fail(listForbidden)
              case "InsufficientCredits":
                return Effect.fail(apiError(
                  PaymentRequired,
                  "INSUFFICIENT_CREDITS",
                  "No IMPORT_LEAD credits available: top up credits before importing"
                ))
            }
          },
          ImportNotEnqueued: (e) =>
            Effect.fail(apiError(
              ServiceUnavailable,
              "ENQUEUE_FAILED",
              `The import could not be scheduled and was cancelled (credits refunded): ${e.message}`
            )),
          SqlError: Effect.die
        })
      ))
    .handle("getImport", ({ params }) => Effect.map(callersImport(params.runId), toImportStatus))
    .handle("cancelImport", ({ params }) =>
      Effect.gen(function*() {
        const user = yield* CurrentUser
        return toImportStatus(yield* imports.cancel(user.id, params.runId))
      }).pipe(Effect.catchTags({
        ImportNotFound: () => Effect.fail(importNotFound),
        ImportAlreadyEnded: (e) =>
          Effect.fail(apiError(Conflict, "IMPORT_ENDED", `The import has already ended (${e.status}); there is nothing to cancel`)),
        SqlError: Effect.die
      })))
    .handle("getImportEvents", ({ params }) =>
      Effect.gen(function*() {
        const row = yield* callersImport(params.runId)
        const events = yield* imports.events(row.import_id).pipe(Effect.orDie)
        return {
          events: events.map((e) => ({
            eventId: e.eventId,
            streamId: e.streamId,
            version: e.version,
            type: e.type,
            // The event as stored: the codec's encoding, the one way events leave the store.
            data: eventCodec.encode(e.event).data,
            metadata: { ...e.metadata },
            recordedAt: e.recordedAt.toISOString()
          }))
        }
      }))
}))

const ListsHandlers = HttpApiBuilder.group(Api, "lists", Effect.fn(function*(handlers) {
  const accounts = yield* Accounts
  const lists = yield* Lists
  const credits = yield* Credits
  /** The caller's list, or 403 (the same answer for another user's list and a missing one). */
  const callersList = (listId: string) =>
    Effect.gen(function*() {
      const user = yield* CurrentUser
      const list = yield* lists.find(user.id, listId).pipe(Effect.orDie)
      return Option.isSome(list) ? list.value : yield* Effect.fail(listForbidden)
    })
  return handlers
    .handle("salesNavAccess", () =>
      Effect.gen(function*() {
        const user = yield* CurrentUser
        const account = yield* accounts.salesNavAccount(user.id).pipe(Effect.orDie)
        return Option.match(account, {
          onNone: () => ({ hasSalesNavigator: false, account: null }),
          onSome: (a) => ({
            hasSalesNavigator: true,
            account: { id: a.id, name: a.name, providerAccountId: a.providerAccountId }
          })
        })
      }))
    .handle("getList", ({ params }) =>
      Effect.map(callersList(params.listId), (list) => ({
        id: list.id,
        name: list.name,
        rowCount: list.rowCount,
        createdAt: iso(list.createdAt)
      })))
    .handle("listRows", ({ params, query }) =>
      Effect.gen(function*() {
        const list = yield* callersList(params.listId)
        const limit = query.limit ?? 100
        const offset = query.offset ?? 0
        const rows = yield* lists.rows(params.listId, { limit, offset }).pipe(Effect.orDie)
        const total = list.rowCount
        return {
          rows: rows.map((r) => ({
            id: r.id,
            listId: r.listId,
            linkedinUrl: r.linkedinUrl,
            salesNavUrl: r.salesNavUrl,
            profileData: r.profileData,
            source: "sales_nav" as const,
            runId: r.runId,
            addedAt: iso(r.addedAt)
          })),
          total,
          limit,
          offset,
          hasMore: offset + rows.length < total
        }
      }))
    .handle("credits", () =>
      Effect.gen(function*() {
        const user = yield* CurrentUser
        const { balance, reserved, available } = yield* credits.balance(user.id).pipe(Effect.orDie)
        return { balance, reserved, available }
      }))
}))

const AdminHandlers = HttpApiBuilder.group(Api, "admin", Effect.fn(function*(handlers) {
  const accounts = yield* Accounts
  const credits = yield* Credits
  const userNotFound = apiError(NotFound, "USER_NOT_FOUND", "No such user")
  return handlers
    .handle("createUser", ({ payload }) =>
      accounts.createUser(payload).pipe(
        Effect.catchTags({
          EmailTaken: (e) => Effect.fail(apiError(Conflict, "EMAIL_TAKEN", `A user with email ${e.email} exists`)),
          SqlError: Effect.die
        })
      ))
    .handle("grantCredits", ({ params, payload }) =>
      Effect.gen(function*() {
        if (!(yield* accounts.userExists(params.userId))) return yield* Effect.fail(userNotFound)
        const { balance, available } = yield* credits.grant(params.userId, payload.amount, "admin grant")
        return { balance, available }
      }).pipe(Effect.catchTag("SqlError", Effect.die)))
    .handle("connectLinkedinAccount", ({ params, payload }) =>
      accounts.connectLinkedinAccount(params.userId, payload).pipe(
        Effect.catchTags({ UserNotFound: () => Effect.fail(userNotFound), SqlError: Effect.die })
      ))
    .handle("issueToken", ({ params }) =>
      accounts.issueToken(params.userId).pipe(
        Effect.catchTags({ UserNotFound: () => Effect.fail(userNotFound), SqlError: Effect.die })
      ))
    .handle("revokeToken", ({ params }) =>
      accounts.revokeToken(params.tokenId).pipe(
        Effect.catchTags({
          TokenNotFound: () => Effect.fail(apiError(NotFound, "TOKEN_NOT_FOUND", "No such token")),
          SqlError: Effect.die
        })
      ))
}))

// --- the edges: body size, non-JSON errors, defects ---

const jsonError = (status: number, code: string, error: string) =>
  HttpServerResponse.jsonUnsafe({ success: false, error, code }, { status })

const codeForStatus: Record<number, [string, string]> = {
  404: ["NOT_FOUND", "No such route"],
  405: ["METHOD_NOT_ALLOWED", "Method not allowed on this route"],
  413: ["PAYLOAD_TOO_LARGE", `Request body over ${MAX_BODY_BYTES / 1024} KiB`],
  415: ["UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json"]
}

const isBodyTooLarge = (defect: unknown): boolean => {
  for (let e: any = defect, depth = 0; e !== undefined && e !== null && depth < 6; e = e.cause, depth++) {
    if (e?.name === "MaxBytesError" || e?._tag === "MaxBytesError" || /max(imum)? ?bytes|too large/i.test(String(e?.message))) {
      return true
    }
  }
  return false
}

/**
 * Every response the service sends carries the contract's JSON error body when it is
 * an error: bodies over 64 KiB (413), unknown routes, unsupported media types, and
 * defects (500, logged) included.
 */
const errorEdges = (httpEffect: Effect.Effect<HttpServerResponse.HttpServerResponse, unknown, never>) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    if (Number(request.headers["content-length"] ?? 0) > MAX_BODY_BYTES) return jsonError(413, ...codeForStatus[413]!)
    const response = yield* httpEffect.pipe(
      Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(MAX_BODY_BYTES)),
      Effect.catchCause((cause) =>
        Effect.gen(function*() {
          if (cause.reasons.some((r) => r._tag === "Die" && isBodyTooLarge(r.defect))) {
            return jsonError(413, ...codeForStatus[413]!)
          }
          const [response, reported] = yield* HttpServerError.causeResponse(cause)
          if (response.status >= 500) yield* Effect.logError("request failed", reported)
          return response
        })
      )
    )
    const contentType = response.headers["content-type"] ?? ""
    if (response.status >= 400 && !contentType.includes("json")) {
      const [code, message] = codeForStatus[response.status] ??
        (response.status >= 500
          ? ["INTERNAL_ERROR", "Internal error"]
          : [`HTTP_${response.status}`, "Request failed"])
      return jsonError(response.status, code, message)
    }
    return response
  })

// It handles every error, which the router's types only allow for declared ones.
const ErrorEdges = HttpRouter.middleware(errorEdges as any, { global: true }) as Layer.Layer<never>

// --- the whole app ---

export const HttpApp = Layer.mergeAll(
  HttpApiBuilder.layer(Api, { openapiPath: "/openapi.json" }),
  HttpApiScalar.layer(Api, { path: "/docs" }),
  ErrorEdges
).pipe(
  Layer.provide([ImportsHandlers, ListsHandlers, AdminHandlers]),
  Layer.provide([AuthorizationLive, AdminAuthorizationLive, ValidationErrorsLive])
)
