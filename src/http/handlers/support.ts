/** Handlers of the support group (SUPPORT_TOKEN): the event log, timelines, projections, rows as of — a call into Support each. */
import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import type { RecordedEvent } from "../../eventstore/EventStore.ts"
import { parseAsOf, showAsOf } from "../../support/asOf.ts"
import { Support } from "../../support/Support.ts"
import { Api, type LogEvent } from "../Api.ts"
import { apiError, BadRequest, Conflict, NotFound } from "../errors.ts"
import { toAuditEvent, toImportStatus, toLead } from "./responses.ts"

const toLogEvent = (e: RecordedEvent): typeof LogEvent.Type => ({ position: String(e.position), ...toAuditEvent(e) })

/** A date-time the query schema has checked. */
const timeOf = (text: string | undefined): Date | undefined => {
  const point = text === undefined ? undefined : parseAsOf(text)
  return point?._tag === "Time" ? point.time : undefined
}

export const SupportHandlers = HttpApiBuilder.group(Api, "support", Effect.fn(function*(handlers) {
  const support = yield* Support
  return handlers
    .handle("supportEvents", ({ query }) =>
      support.events({
        runId: query.runId,
        userId: query.userId,
        listId: query.listId,
        streamId: query.streamId,
        types: query.type,
        from: timeOf(query.from),
        to: timeOf(query.to),
        after: query.after,
        limit: query.limit ?? 100
      }).pipe(
        Effect.map((page) => ({ events: page.events.map(toLogEvent), next: page.next })),
        Effect.catchTags({
          UnknownPosition: (e) =>
            Effect.fail(apiError(BadRequest, "INVALID_AFTER", `after=${e.after} is not a position from this API: pass an event's position or next`, [
              { path: "after", message: "not a position of the log" }
            ])),
          SqlError: Effect.die
        })
      ))
    .handle("supportImport", ({ params }) =>
      support.importTimeline(params.runId).pipe(
        Effect.map(({ row, timeline }) => ({
          userId: row.user_id,
          import: toImportStatus(row),
          timeline: timeline.map((t) => ({ at: t.at.toISOString(), type: t.type, page: t.page, summary: t.summary }))
        })),
        Effect.catchTags({
          SupportImportNotFound: () => Effect.fail(apiError(NotFound, "IMPORT_NOT_FOUND", "No import has this runId")),
          SqlError: Effect.die
        })
      ))
    .handle("supportProjections", () =>
      support.projections.pipe(Effect.map((projections) => ({ projections })), Effect.orDie))
    .handle("rebuildProjection", ({ params }) =>
      support.rebuild(params.name).pipe(Effect.catchTags({
        UnknownProjection: (e) => Effect.fail(apiError(NotFound, "PROJECTION_NOT_FOUND", e.message)),
        RebuildRunning: (e) =>
          Effect.fail(apiError(Conflict, "REBUILD_RUNNING", `A rebuild of ${e.name} (version ${e.version}) is already running`)),
        SqlError: Effect.die
      })))
    .handle("rowsAsOf", ({ params, query }) => {
      const asOf = parseAsOf(query.asOf)!
      const limit = query.limit ?? 100
      const offset = query.offset ?? 0
      return support.rowsAsOf(params.listId, asOf, { limit, offset }).pipe(
        Effect.map(({ rows, total }) => ({ rows: rows.map(toLead), total, asOf: showAsOf(asOf) })),
        Effect.catchTags({
          ListNotFound: () => Effect.fail(apiError(NotFound, "LIST_NOT_FOUND", "No list has this id")),
          SqlError: Effect.die
        })
      )
    })
}))
