/** Handlers of the imports group: start, status, cancel, audit log — one call into Imports each. */
import { Effect, Option } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { eventCodec } from "../../../events/index.ts"
import { Imports } from "../../imports/Imports.ts"
import { Api } from "../Api.ts"
import { apiError, BadRequest, Conflict, PaymentRequired, ServiceUnavailable } from "../errors.ts"
import { CurrentUser } from "../Security.ts"
import { importNotFound, listForbidden, toImportStatus } from "./responses.ts"

export const ImportsHandlers = HttpApiBuilder.group(Api, "imports", Effect.fn(function*(handlers) {
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
