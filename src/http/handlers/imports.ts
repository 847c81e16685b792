/** Handlers of the imports group: start, list, status, live stream, cancel, audit log — a call into Imports each. */
import { Config, Effect, Option } from "effect"
import { HttpApiBuilder, HttpApiSchema } from "effect/http-api"
import { Imports } from "../../imports/Imports.ts"
import { Api } from "../Api.ts"
import { CurrentUser } from "../Security.ts"
import { CANCEL_IMPORT_FAILURES, cancelImportError, START_IMPORT_FAILURES, startImportError } from "./importErrors.ts"
import { importEventStream } from "./importStream.ts"
import { importNotFound, toAuditEvent, toImportStatus } from "./responses.ts"

export const ImportsHandlers = HttpApiBuilder.group(Api, "imports", Effect.fn(function*(handlers) {
  const imports = yield* Imports
  const heartbeatMs = yield* Config.Int("STREAM_HEARTBEAT_MS").pipe(Config.withDefault(15_000))
  /** The caller's import with this run id, or 404 (another user's import is not told apart). */
  const callersImport = (runId: string) =>
    Effect.gen(function*() {
      const user = yield* CurrentUser
      const row = yield* imports.findByRunId(user.id, runId).pipe(Effect.orDie)
      return Option.isSome(row) ? row.value : yield* Effect.fail(importNotFound)
    })
  return handlers
    .handle("importSalesNav", ({ payload, headers }) =>
      Effect.gen(function*() {
        const user = yield* CurrentUser
        const started = yield* imports.start(user.id, {
          url: payload.url,
          listId: payload.listId,
          listName: payload.listName,
          maxResults: payload.maxResults ?? 2500,
          skipExistingCustomers: payload.skipExistingCustomers ?? true
        }, { idempotencyKey: headers["idempotency-key"], tokenHash: user.unverifiedTokenHash })
        return HttpApiSchema.withHeaders({
          body: {
            success: true as const,
            listId: started.listId,
            runId: started.runId,
            maxResults: started.maxResults,
            wasCapped: started.wasCapped
          },
          headers: started.replayed ? { "idempotent-replayed": "true" as const } : {}
        })
      }).pipe(
        Effect.catchTag(START_IMPORT_FAILURES, (e) => Effect.fail(startImportError(e))),
        // A cached token found revoked: the Authorization middleware answers 401 (it re-checks on any failure).
        Effect.catchTag(["SqlError", "TokenRevoked"], Effect.die)
      ))
    .handle("listImports", ({ query }) =>
      Effect.gen(function*() {
        const user = yield* CurrentUser
        const limit = query.limit ?? 20
        const offset = query.offset ?? 0
        const page = yield* imports.list(user.id, { status: query.status, limit, offset }).pipe(Effect.orDie)
        return { imports: page.rows.map(toImportStatus), total: page.total, limit, offset, hasMore: offset + page.rows.length < page.total }
      }))
    .handle("getImport", ({ params }) => Effect.map(callersImport(params.runId), toImportStatus))
    .handle("streamImport", ({ params, headers }) =>
      Effect.flatMap(callersImport(params.runId), (row) => importEventStream(row, headers["last-event-id"], { heartbeatMs }).pipe(Effect.orDie)))
    .handle("cancelImport", ({ params }) =>
      Effect.gen(function*() {
        const user = yield* CurrentUser
        return toImportStatus(yield* imports.cancel(user.id, params.runId))
      }).pipe(
        Effect.catchTag(CANCEL_IMPORT_FAILURES, (e) => Effect.fail(cancelImportError(e))),
        Effect.catchTag("SqlError", Effect.die)
      ))
    .handle("getImportEvents", ({ params }) =>
      Effect.gen(function*() {
        const row = yield* callersImport(params.runId)
        const events = yield* imports.events(row.import_id).pipe(Effect.orDie)
        return {
          events: events.map(toAuditEvent)
        }
      }))
}))
