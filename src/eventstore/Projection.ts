/**
 * A projection turns events into rows. It names the event types it handles and
 * applies a batch of them inside the caller's transaction: the append transaction
 * for inline projections, the checkpoint transaction for async ones.
 */
import { Effect } from "effect"
import { type RawBuilder, sql } from "kysely"
import { Database, type SqlError } from "../db/Database.ts"
import type { RecordedEvent } from "./EventStore.ts"

/**
 * What a batch writes, as steps run in order; the statements of one step write distinct rows
 * and none reads what another writes, so they may go as one statement (data-modifying CTEs).
 */
export type Writes = ReadonlyArray<ReadonlyArray<RawBuilder<unknown>>>

export interface Projection {
  readonly name: string
  readonly handles: ReadonlyArray<string>
  /** The tables it writes, and nothing else writes: what a rebuild empties and refills. */
  readonly tables: ReadonlyArray<string>
  /** Applies `events` (only handled types, in global order). Must be deterministic: replays run it again. */
  apply(events: ReadonlyArray<RecordedEvent>): Effect.Effect<void, SqlError, Database>
  /**
   * The same writes as statements, unsent, for appended events of the given types (those it
   * handles), over `events`, a relation of them (see {@link LogEvents}): the event store sends the
   * first step with the append itself, and step k of every inline projection an append touches
   * together. Over no events (an append that inserted none) they must write nothing.
   */
  readonly writes?: (types: ReadonlyArray<string>, events: LogEvents) => Writes
  /**
   * The writes stated over the log itself: `events(...types)` is the relation of the events to
   * apply of those types (their `position`, `version`, `type`, `data` and `recorded_at`), read where
   * they are stored. An append then sends no event's data twice, and a rebuild replays without
   * bringing a single event into this process: one set-based statement per step, whatever the
   * events' size.
   */
  readonly fromLog?: (events: LogEvents) => Writes
}

/**
 * The events a statement applies, as a relation `(position, version, type, data, recorded_at)`
 * in `position` order: `events("ListCreated")` is those of that type. A statement names the
 * types it reads, so a stored event's data is read (fetched, decompressed) only by a statement
 * that uses it, not by every statement over the batch.
 */
export type LogEvents = (...types: ReadonlyArray<string>) => RawBuilder<unknown>

/**
 * Stored events as a relation: `from` is what follows FROM (`events` rows). Their `data` is read
 * once per event: it is stored compressed (TOAST), each `data->…` would fetch and decompress it
 * again, and an array cannot hold a TOAST pointer, so `(array[data])[1]` is the value itself (over a
 * million-event log that is the difference between reading the log once and once per field). OFFSET 0
 * keeps the planner from pulling the subquery, and so the read, into each use — and so no condition
 * outside reaches in: what to read is said in `from`.
 */
export const storedEvents = (from: RawBuilder<unknown>): RawBuilder<unknown> =>
  sql`(select position, version, type, (array[data])[1] as data, recorded_at from ${from} offset 0)`

/**
 * The stored events that `where` selects, as {@link LogEvents}: each statement reads its types only.
 * The types are picked from what `where` found (OFFSET 0 again), so that `where` alone decides how
 * the log is searched — a type is no way into a batch of positions — and no data is read yet.
 */
export const storedEventsWhere = (where: RawBuilder<unknown>): LogEvents => (...types) =>
  storedEvents(sql`(select position, version, type, data, recorded_at from events where ${where} offset 0) found
    where type in (${sql.join(types)})`)

/**
 * The stored rows of `events` (events read or just appended), as {@link LogEvents}: one probe of
 * the primary key per event. As `position = any(…)`, the plan a connection keeps for the statement
 * when the log was new (not analyzed yet) scanned the log, and kept scanning as it grew: under 20
 * imports that was half the database's time. (The LIMIT keeps each probe a subquery of its own.)
 */
export const eventsAt = (events: ReadonlyArray<RecordedEvent>): LogEvents => (...types) =>
  storedEvents(sql`unnest(${`{${events.filter((e) => types.includes(e.type)).map((e) => e.position).join(",")}}`}::text::bigint[]) as p(at)
    cross join lateral (select position, version, type, data, recorded_at from events where events.position = p.at limit 1) s`)

/**
 * A projection stated over the log: `apply` and `writes` follow from `fromLog` (`writes` may be
 * given, to leave out steps the appended types cannot need).
 */
export const overLog = (projection: Omit<Projection, "apply" | "writes" | "fromLog"> & {
  readonly fromLog: (events: LogEvents) => Writes
  readonly writes?: (types: ReadonlyArray<string>, events: LogEvents) => Writes
}): Projection => {
  const writes = projection.writes ?? ((_: ReadonlyArray<string>, events: LogEvents) => projection.fromLog(events))
  return { ...projection, writes, apply: applyWrites(writes) }
}

/** Statements as CTEs named `<prefix>0`, `<prefix>1`, …, for a WITH. */
export const asCtes = (statements: ReadonlyArray<RawBuilder<unknown>>, prefix: "w" | "p"): RawBuilder<unknown> =>
  sql.join(statements.map((s, i) => sql`${sql.raw(`${prefix}${i}`)} as (${s})`))

/** Statements as one: each a data-modifying CTE, all run to completion whatever the main query reads. */
export const asOneStatement = (statements: ReadonlyArray<RawBuilder<unknown>>): RawBuilder<unknown> =>
  statements.length === 1 ? statements[0]! : sql`with ${asCtes(statements, "w")} select 1`

/** Runs steps in order, each as one statement. */
export const runWrites = (steps: Writes): Effect.Effect<void, SqlError, Database> =>
  Effect.gen(function*() {
    const db = yield* Database
    for (const step of steps) {
      if (step.length > 0) yield* db.query((q) => asOneStatement(step).execute(q))
    }
  })

/** `apply` for a projection that states its writes: them, over the events where they are stored. */
export const applyWrites = (writes: (types: ReadonlyArray<string>, events: LogEvents) => Writes) =>
(events: ReadonlyArray<RecordedEvent>) =>
  Effect.suspend(() => events.length === 0 ? Effect.void : runWrites(writes([...new Set(events.map((e) => e.type))], eventsAt(events))))
