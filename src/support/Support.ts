/**
 * What support staff can ask (the /api/support/… paths, SUPPORT_TOKEN): the event log by run,
 * user, list, stream, type and time, paged; any import's timeline; each projection's version,
 * and a blue/green rebuild of it; and a list's rows as they were at a time or a position of
 * the log, computed from the events rather than read from the projection.
 */
import { Context, Effect, Layer, Schema } from "effect"
import { sql } from "kysely"
import { type BatchPersisted, listStream, profileOf } from "../../events/index.ts"
import { Database, type SqlError } from "../db/Database.ts"
import { type Checkpoint, EventStore, type RecordedEvent } from "../eventstore/EventStore.ts"
import { type ProjectionState, ProjectionRebuilds, type UnknownProjection } from "../eventstore/ProjectionRebuilds.ts"
import type { RebuildRunning } from "../eventstore/rebuild.ts"
import type { ImportRow } from "../imports/Imports.ts"
import type { ListRow } from "../lists/Lists.ts"
import type { AsOf } from "./asOf.ts"
import { type TimelineEntry, timelineEntry } from "../imports/timeline.ts"

export interface EventQuery {
  readonly runId?: string | undefined
  readonly userId?: string | undefined
  readonly listId?: string | undefined
  readonly streamId?: string | undefined
  /** Event types; each entry may hold several, comma-separated. */
  readonly types?: ReadonlyArray<string> | undefined
  readonly from?: Date | undefined
  readonly to?: Date | undefined
  /** A position this API answered (an event's, or `next`): the page continues after it. */
  readonly after?: string | undefined
  readonly limit: number
}

export interface EventPage {
  readonly events: ReadonlyArray<RecordedEvent>
  /** Where the next page starts (pass as `after`); null when this page reached the end of the log. */
  readonly next: string | null
}

/** `after` is not a position this API handed out. */
export class UnknownPosition extends Schema.TaggedError<UnknownPosition>()("UnknownPosition", { after: Schema.String }) {}
export class SupportImportNotFound extends Schema.TaggedError<SupportImportNotFound>()("SupportImportNotFound", {
  runId: Schema.String
}) {}
export class ListNotFound extends Schema.TaggedError<ListNotFound>()("ListNotFound", { listId: Schema.String }) {}

/** The types a query names: repeated and comma-separated alike, blanks dropped. */
export const typesOf = (types: ReadonlyArray<string>): ReadonlyArray<string> =>
  [...new Set(types.flatMap((t) => t.split(",")).map((t) => t.trim()).filter((t) => t !== ""))]

export class Support extends Context.Service<Support, {
  events(query: EventQuery): Effect.Effect<EventPage, UnknownPosition | SqlError>
  /** Any user's import with this run id, and its timeline (oldest first). */
  importTimeline(runId: string): Effect.Effect<{ readonly row: ImportRow; readonly timeline: ReadonlyArray<TimelineEntry> }, SupportImportNotFound | SqlError>
  /** Every projection's version, status and rebuild progress. */
  readonly projections: Effect.Effect<ReadonlyArray<ProjectionState>, SqlError>
  /** Starts a blue/green rebuild of the projection; answers the version it writes. */
  rebuild(name: string): Effect.Effect<{ readonly name: string; readonly version: number }, UnknownProjection | RebuildRunning | SqlError>
  /** A page of a list's rows as they were at `asOf`, and how many there were then. */
  rowsAsOf(
    listId: string,
    asOf: AsOf,
    page: { readonly limit: number; readonly offset: number }
  ): Effect.Effect<{ readonly rows: ReadonlyArray<ListRow>; readonly total: number }, ListNotFound | SqlError>
}>()("app/support/Support") {
  static readonly layer = Layer.effect(
    Support,
    Effect.gen(function*() {
      const db = yield* Database
      const store = yield* EventStore
      const rebuilds = yield* ProjectionRebuilds

      const importIdOf = (runId: string) =>
        db.query((q) => q.selectFrom("imports").select("import_id").where("run_id", "=", runId).executeTakeFirst())
          .pipe(Effect.map((row) => row?.import_id))

      const events = (query: EventQuery) =>
        Effect.gen(function*() {
          let after: Checkpoint | undefined
          if (query.after !== undefined) {
            const position = /^\d{1,16}$/.test(query.after) ? Number(query.after) : undefined
            after = position === undefined ? undefined : yield* store.checkpointAt(position)
            if (after === undefined) return yield* new UnknownPosition({ after: query.after })
          }
          let correlationId: string | undefined
          if (query.runId !== undefined) {
            correlationId = yield* importIdOf(query.runId)
            if (correlationId === undefined) return { events: [], next: null } satisfies EventPage
          }
          const { events } = yield* store.readAll({
            ...(after !== undefined ? { after } : {}),
            ...(correlationId !== undefined ? { correlationId } : {}),
            ...(query.userId !== undefined ? { userId: query.userId } : {}),
            ...(query.listId !== undefined ? { listId: query.listId } : {}),
            ...(query.streamId !== undefined ? { streamId: query.streamId } : {}),
            ...(query.types !== undefined ? { types: typesOf(query.types) } : {}),
            ...(query.from !== undefined ? { recordedFrom: query.from } : {}),
            ...(query.to !== undefined ? { recordedTo: query.to } : {}),
            limit: query.limit
          })
          const last = events[events.length - 1]
          return { events, next: events.length === query.limit && last ? String(last.position) : null } satisfies EventPage
        })

      const importTimeline = (runId: string) =>
        Effect.gen(function*() {
          const row = yield* db.query((q) => q.selectFrom("imports").selectAll().where("run_id", "=", runId).executeTakeFirst())
          if (row === undefined) return yield* new SupportImportNotFound({ runId })
          const recorded = yield* store.readCommitted({ correlationId: row.import_id })
          return { row, timeline: recorded.map((e) => timelineEntry(e.event, e.recordedAt)) }
        })

      /** The list's batches up to `asOf`, in log order, with how many rows each brought. */
      const batchesUpTo = (listId: string, asOf: AsOf) =>
        db.query((q) =>
          sql<{ event_id: string; rows: number }>`
            select event_id::text as event_id, jsonb_array_length(data -> 'rows') as rows from events
            where (data ->> 'listId') = ${listId} and type = 'BatchPersisted'
              and position ${
            asOf._tag === "Position"
              ? sql`<= ${asOf.position}::bigint`
              // Every batch before the first one recorded after the time (to the millisecond, as
              // the API shows times): a prefix of the list's batches.
              : sql`< coalesce((select min(position) from events
                    where (data ->> 'listId') = ${listId} and type = 'BatchPersisted'
                      and recorded_at >= ${asOf.time.toISOString()}::timestamptz + interval '1 millisecond'), 9223372036854775807)`
          }
            order by position`.execute(q)
        ).pipe(Effect.map(({ rows }) => rows.map((r) => ({ eventId: r.event_id, rows: Number(r.rows) }))))

      const rowsAsOf = (listId: string, asOf: AsOf, page: { readonly limit: number; readonly offset: number }) =>
        Effect.gen(function*() {
          if ((yield* store.streamVersion(listStream(listId))) === 0) return yield* new ListNotFound({ listId })
          const batches = yield* batchesUpTo(listId, asOf)
          const total = batches.reduce((n, b) => n + b.rows, 0)
          // Only the batches the page overlaps are read and decoded.
          const wanted: Array<{ readonly eventId: string; readonly first: number }> = []
          let first = 0
          for (const batch of batches) {
            if (first + batch.rows > page.offset && first < page.offset + page.limit) wanted.push({ eventId: batch.eventId, first })
            first += batch.rows
          }
          const read = yield* store.readEvents(wanted.map((w) => w.eventId))
          const rows = wanted.flatMap(({ eventId }) => {
            const recorded = read.get(eventId) as RecordedEvent<BatchPersisted> | undefined
            return recorded === undefined ? [] : recorded.event.rows.map(({ rowId, lead }): ListRow => ({
              id: rowId,
              listId: recorded.event.listId,
              runId: recorded.event.runId,
              linkedinUrl: lead.linkedinUrl,
              salesNavUrl: lead.salesNavUrl,
              profileData: profileOf(lead),
              addedAt: recorded.recordedAt
            }))
          })
          const skip = page.offset - (wanted[0]?.first ?? page.offset)
          return { rows: rows.slice(skip, skip + page.limit), total }
        })

      return Support.of({ events, importTimeline, projections: rebuilds.states, rebuild: rebuilds.start, rowsAsOf })
    })
  )
}
