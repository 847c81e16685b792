/**
 * The event store: atomic, idempotent appends with optimistic concurrency, and
 * ordered reads that never skip an event that commits late.
 *
 * - `append` checks the expected version, the event ids and inserts every event in
 *   ONE statement; inline projections run in the same transaction, the first step of those
 *   stated over the log in that same statement.
 * - Reads in global order are gated by `pg_snapshot_xmin`: a row is only handed out
 *   once every transaction that could still commit below it has finished, and the
 *   checkpoint is the pair (transaction_id, position).
 */
import { Cause, Context, Effect, Layer, Result, Schedule, Schema } from "effect"
import { type RawBuilder, sql } from "kysely"
import { type DomainEvent, type EventCodec, eventCodec, uuidV7 } from "../../events/index.ts"
import { Database, isDatabaseUnavailable, isSerializationConflict, type SqlError } from "../db/Database.ts"
import { groupCommit } from "../db/groupCommit.ts"
import { arrayLiteral, compiledOnce, textArray } from "../db/sql.ts"
import { asCtes, eventsAt, type LogEvents, type Projection, runWrites, storedEventsWhere, type Writes } from "./Projection.ts"

/** `number` = the stream's current version (0 = no stream yet). */
export type ExpectedVersion = number | "no-stream" | "exists" | "any"

export interface EventMetadata {
  readonly correlationId?: string | undefined
  readonly causationId?: string | undefined
  readonly userId?: string | undefined
}

export interface AppendOptions extends EventMetadata {
  readonly expectedVersion: ExpectedVersion
  /** One id per event. Deterministic ids make a retried append a no-op; default: random. */
  readonly eventIds?: ReadonlyArray<string>
}

export interface RecordedEvent<E = DomainEvent> {
  readonly eventId: string
  readonly streamId: string
  /** 1-based version of the event in its stream. */
  readonly version: number
  readonly position: number
  readonly transactionId: string
  readonly type: string
  readonly event: E
  readonly metadata: EventMetadata
  readonly recordedAt: Date
}

export interface AppendResult {
  readonly streamId: string
  /** The stream's version after the append. */
  readonly version: number
  readonly events: ReadonlyArray<RecordedEvent>
  /** True when every event id was already stored with the same content: nothing was written. */
  readonly alreadyAppended: boolean
}

/** Where a global reader is: the last (transaction_id, position) it has processed. */
export interface Checkpoint {
  readonly transactionId: string
  readonly position: number
}
export const startOfTime: Checkpoint = { transactionId: "0", position: 0 }

export interface ReadAllOptions {
  readonly after?: Checkpoint
  readonly category?: string
  readonly correlationId?: string
  /** Events of any of these correlation ids (imports). */
  readonly correlationIds?: ReadonlyArray<string>
  readonly streamId?: string
  /** Events recorded on behalf of this user (metadata). */
  readonly userId?: string
  /** Events whose data names this list (`listId`). */
  readonly listId?: string
  /** Recorded at or after / at or before (the recording transaction's start), to the millisecond. */
  readonly recordedFrom?: Date
  readonly recordedTo?: Date
  /** Events of any of these types: each read in its index's order, then merged. */
  readonly types?: ReadonlyArray<string>
  readonly limit?: number
}

/**
 * Committed events that snapshot `to` sees and snapshot `from` does not — what committed between
 * two moments, late commits included — in position order, after `afterPosition`. Snapshots are
 * `pg_current_snapshot()` values as text; EMPTY_SNAPSHOT sees nothing.
 */
export interface ReadBetweenOptions {
  readonly from: string
  readonly to: string
  readonly types?: ReadonlyArray<string>
  readonly afterPosition?: number
  readonly limit?: number
  /**
   * Stop before the events' stored data passes this many bytes (at least one event): pages of a
   * log of large events stay small in memory however many events `limit` allows.
   */
  readonly maxBytes?: number
}

/** A snapshot that sees no transaction: `from` for a read of everything. */
export const EMPTY_SNAPSHOT = "1:1:"

export interface ReadCommittedOptions {
  readonly afterPosition?: number
  readonly correlationId?: string
  readonly types?: ReadonlyArray<string>
  readonly limit?: number
}

export class WrongExpectedVersion extends Schema.TaggedError<WrongExpectedVersion>()("WrongExpectedVersion", {
  streamId: Schema.String,
  expected: Schema.String,
  actual: Schema.Int
}) {
  override get message() {
    return `stream ${this.streamId}: expected version ${this.expected}, actual ${this.actual}`
  }
}

export class IdempotencyConflict extends Schema.TaggedError<IdempotencyConflict>()("IdempotencyConflict", {
  streamId: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `stream ${this.streamId}: ${this.reason}`
  }
}

export type AppendError = WrongExpectedVersion | IdempotencyConflict | SqlError

export class EventStore extends Context.Service<EventStore, {
  append(
    streamId: string,
    events: ReadonlyArray<DomainEvent>,
    options: AppendOptions
  ): Effect.Effect<AppendResult, AppendError>
  /** Events of one stream in version order, from `fromVersion` (inclusive, default 1). */
  readStream(
    streamId: string,
    options?: { readonly fromVersion?: number; readonly limit?: number }
  ): Effect.Effect<ReadonlyArray<RecordedEvent>, SqlError>
  /** The stream's current version; 0 when it does not exist. */
  streamVersion(streamId: string): Effect.Effect<number, SqlError>
  /** Committed events after a checkpoint, in global order, never skipping a late commit. */
  readAll(options?: ReadAllOptions): Effect.Effect<{
    readonly events: ReadonlyArray<RecordedEvent>
    readonly checkpoint: Checkpoint
  }, SqlError>
  /** The checkpoint of the event at `position` (a reader passed it), if there is one. */
  checkpointAt(position: number): Effect.Effect<Checkpoint | undefined, SqlError>
  /** Where a tailing reader starting now would begin: the last event it may read (startOfTime when none). */
  readonly head: Effect.Effect<Checkpoint, SqlError>
  /** One event by id, if stored. */
  readEvent(eventId: string): Effect.Effect<RecordedEvent | undefined, SqlError>
  /** Several events by id, in one query: the stored ones, by id. */
  readEvents(eventIds: ReadonlyArray<string>): Effect.Effect<ReadonlyMap<string, RecordedEvent>, SqlError>
  /**
   * Committed events in position order — which, unlike the tailing order, always
   * follows each stream's versions — without waiting for older transactions. For
   * audit reads and rebuilds, not for tailing.
   */
  readCommitted(options?: ReadCommittedOptions): Effect.Effect<ReadonlyArray<RecordedEvent>, SqlError>
  /** The current statement's snapshot (`pg_current_snapshot()` as text), for {@link ReadBetweenOptions}. */
  readonly snapshot: Effect.Effect<string, SqlError>
  /**
   * Events committed between two snapshots (see {@link ReadBetweenOptions}), and whether they are
   * the last ones (`complete`: neither `limit` nor `maxBytes` cut the page short). For rebuilds.
   */
  readBetween(options: ReadBetweenOptions): Effect.Effect<{
    readonly events: ReadonlyArray<RecordedEvent>
    readonly complete: boolean
  }, SqlError>
  /** How many events {@link readBetween} would return without a limit. */
  countBetween(options: ReadBetweenOptions): Effect.Effect<number, SqlError>
  /**
   * Applies a projection stated over the log ({@link Projection.fromLog}) to the events
   * {@link readBetween} would return (`maxBytes` aside), where they are stored: where the batch
   * ends is found first, then its writes run over it. No event is read into this process.
   * Returns how many events it applied, the position of the last, and whether they were the last.
   */
  replayBetween(options: ReadBetweenOptions, fromLog: (events: LogEvents) => Writes): Effect.Effect<{
    readonly events: number
    readonly lastPosition: number
    readonly complete: boolean
  }, SqlError>
}>()("app/eventstore/EventStore") {
  static readonly layer = (options: EventStoreOptions = {}) =>
    Layer.effect(EventStore, Effect.map(Database, (db) => makeEventStore(db, options)))
}

interface EventRow {
  readonly position: number | string
  readonly transaction_id: string
  readonly event_id: string
  readonly stream_id: string
  readonly version: number
  readonly type: string
  readonly schema_version: number
  readonly data: Record<string, unknown>
  readonly metadata: EventMetadata
  readonly recorded_at: Date | string
}

/** The columns an append learns from the database. */
type InsertedRow = Pick<EventRow, "position" | "transaction_id" | "event_id" | "stream_id" | "version" | "recorded_at">

/**
 * Every column of an event row. `transaction_id` leaves as text: an ORDER BY must name
 * `events.transaction_id` (the xid8), since a bare name means this text and sorts 1000 before 999.
 */
const eventColumns = sql.raw(
  "position, transaction_id::text as transaction_id, event_id::text as event_id, stream_id, version, type, schema_version, data, metadata, recorded_at"
)

export interface EventStoreOptions {
  readonly inline?: ReadonlyArray<Projection>
  readonly codec?: EventCodec
  /** Group commit: batches in flight at once (default 4) and appends per batch (default 64). */
  readonly maxBatchesInFlight?: number
  readonly maxBatch?: number
}

export const makeEventStore = (db: Database["Service"], options: EventStoreOptions = {}): EventStore["Service"] => {
  const codec = options.codec ?? eventCodec
  const inline = options.inline ?? []
  const maxInFlight = options.maxBatchesInFlight ?? 4
  const maxBatch = options.maxBatch ?? 64

  const toRecorded = (row: EventRow): RecordedEvent => {
    const decoded = codec.decode({ type: row.type, schemaVersion: row.schema_version, data: row.data })
    if (Result.isFailure(decoded)) {
      throw new Error(`event ${row.event_id} (${row.stream_id}@${row.version}) cannot be decoded: ${decoded.failure}`)
    }
    return {
      eventId: row.event_id,
      streamId: row.stream_id,
      version: row.version,
      position: Number(row.position),
      transactionId: row.transaction_id,
      type: row.type,
      event: decoded.success,
      metadata: row.metadata,
      recordedAt: new Date(row.recorded_at)
    }
  }
  // A row that does not decode is a deployment error (unknown type, missing upcaster): a defect.
  const decodeRows = (rows: ReadonlyArray<EventRow>) => Effect.sync(() => rows.map(toRecorded))

  /** An append checked and encoded, ready for the statement. */
  interface Prepared {
    readonly streamId: string
    readonly events: ReadonlyArray<DomainEvent>
    readonly ids: ReadonlyArray<string>
    readonly encoded: ReadonlyArray<{ eventId: string; type: string; schemaVersion: number; data: Record<string, unknown>; metadata: EventMetadata }>
    readonly metadata: EventMetadata
    readonly options: AppendOptions
  }

  type Outcome = Effect.Effect<AppendResult, WrongExpectedVersion | IdempotencyConflict>

  type BatchRow = { existing: Array<EventRow & { i: number }>; inserted: Array<InsertedRow>; versions: Record<string, number> | null }
  const batchStatements = compiledOnce<BatchRow>(db.kysely)

  /**
   * Any number of appends to distinct streams with disjoint event ids, as ONE statement: each
   * one's version check, id check and insert, exactly as a lone append (data-modifying CTEs over
   * one jsonb parameter, so the text never changes: compiled and prepared once). Returns each one's
   * outcome, in order.
   */
  const batchStatement = (batch: ReadonlyArray<Prepared>) =>
    Effect.gen(function*() {
      const requests = batch.map((p, i) => {
        const expected = p.options.expectedVersion === 0 ? "no-stream" : p.options.expectedVersion
        return {
          i,
          stream_id: p.streamId,
          n: p.events.length,
          mode: typeof expected === "number" ? "exact" : expected,
          expected: typeof expected === "number" ? expected : null,
          events: p.encoded,
          correlation_id: p.options.correlationId ?? null,
          causation_id: p.options.causationId ?? null,
          user_id: p.options.userId ?? null
        }
      })
      const statement = batchStatements("batch", (slot) =>
        sql<BatchRow>`
          with req as (
            select * from jsonb_to_recordset(${slot(0)}::text::jsonb) as r(i int, stream_id text, n int,
              mode text, expected int, events jsonb, correlation_id text, causation_id text, user_id text)
          ),
          -- Each id probes the unique index (LIMIT keeps the planner from a scan: it knows no row count here).
          existing as (
            select r.i, e.* from req r, jsonb_array_elements(r.events) as x(value),
              lateral (select ${eventColumns} from events where event_id = (x.value->>'eventId')::uuid limit 1) e
          ),
          fresh as materialized (select * from req r where not exists (select 1 from existing x where x.i = r.i)),
          bump_any as (
            insert into streams as s (stream_id, version) select stream_id, n from fresh where mode = 'any' order by stream_id
            on conflict (stream_id) do update set version = s.version + excluded.version, updated_at = now()
            returning s.stream_id, s.version),
          bump_new as (
            insert into streams (stream_id, version) select stream_id, n from fresh where mode = 'no-stream' order by stream_id
            on conflict (stream_id) do nothing
            returning stream_id, version),
          bump_set as (
            update streams s set version = s.version + f.n, updated_at = now()
            from fresh f
            where s.stream_id = any(array(select stream_id from fresh where mode in ('exists', 'exact')))
              and s.stream_id = f.stream_id and (f.mode = 'exists' or (f.mode = 'exact' and s.version = f.expected))
            returning s.stream_id, s.version),
          bump as (select * from bump_any union all select * from bump_new union all select * from bump_set),
          inserted as (
            insert into events (event_id, stream_id, version, type, schema_version, data, metadata, correlation_id, causation_id, user_id)
            select (e.value->>'eventId')::uuid, f.stream_id, b.version - f.n + e.ord::int,
                   e.value->>'type', (e.value->>'schemaVersion')::int, e.value->'data', e.value->'metadata',
                   f.correlation_id, f.causation_id, f.user_id
            from fresh f join bump b on b.stream_id = f.stream_id, jsonb_array_elements(f.events) with ordinality as e(value, ord)
            order by f.i, e.ord
            -- Only what the database assigned: the events themselves are already in memory.
            returning position, transaction_id::text as transaction_id, event_id::text as event_id, stream_id, version, recorded_at
          )
          select
            (select coalesce(json_agg(x), '[]'::json) from existing x) as existing,
            (select coalesce(json_agg(i order by i.position), '[]'::json) from inserted i) as inserted,
            (select json_object_agg(s.stream_id, s.version) from streams s where s.stream_id = any(array(select stream_id from req))) as versions`,
        [JSON.stringify(requests)])
      const { rows } = yield* db.query((q) => q.getExecutor().executeQuery(statement))
      const result = rows[0]!
      return batch.map((p, i) =>
        outcomeOf(
          p,
          result.existing.filter((row) => row.i === i),
          result.inserted.filter((row) => row.stream_id === p.streamId),
          result.versions?.[p.streamId] ?? 0
        )
      )
    })

  /** One append's outcome from what its statement found (ids already stored) and wrote. */
  const outcomeOf = (
    p: Prepared,
    existing: ReadonlyArray<EventRow>,
    inserted: ReadonlyArray<InsertedRow>,
    currentVersion: number
  ): Outcome => {
    if (existing.length > 0) return idempotentOutcome(p.streamId, p.ids, p.encoded, existing)
    if (inserted.length === 0) {
      return Effect.fail(
        new WrongExpectedVersion({ streamId: p.streamId, expected: String(p.options.expectedVersion), actual: currentVersion })
      )
    }
    // Built from the events in hand rather than decoded back: encode then decode is the
    // identity (the codec's round-trip property), and a page's leads need not cross twice.
    const recorded = inserted.map((row, j): RecordedEvent => ({
      eventId: row.event_id,
      streamId: p.streamId,
      version: row.version,
      position: Number(row.position),
      transactionId: row.transaction_id,
      type: p.encoded[j]!.type,
      event: p.events[j]!,
      metadata: p.metadata,
      recordedAt: new Date(row.recorded_at)
    }))
    return Effect.succeed({ streamId: p.streamId, version: recorded[recorded.length - 1]!.version, events: recorded, alreadyAppended: false })
  }

  type SingleRow = { existing: Array<EventRow>; inserted: Array<InsertedRow>; current_version: number | null }
  const singleStatements = compiledOnce<SingleRow>(db.kysely)

  /**
   * One append alone: the same checks and insert with the stream's mode written into the
   * statement — a simpler statement than the batch's, cheaper to plan where plans are not kept
   * (PGlite) — and, `projected`, the inline projections' first step for its event types. Compiled
   * once per mode and event types (`compiledOnce`); a call's values go in its slots.
   */
  const singleStatement = (p: Prepared, projected = false) =>
    Effect.gen(function*() {
      const expected = p.options.expectedVersion === 0 ? "no-stream" : p.options.expectedVersion
      const mode = typeof expected === "number" ? "exact" : expected
      const types = p.encoded.map((e) => e.type)
      const values = [
        arrayLiteral(p.ids),
        p.streamId,
        p.events.length,
        typeof expected === "number" ? expected : null,
        JSON.stringify(p.encoded),
        p.options.correlationId ?? null,
        p.options.causationId ?? null,
        p.options.userId ?? null
      ]
      const statement = singleStatements(`${projected ? "projected" : "bare"}|${mode}|${types.join(",")}`, (slot) => {
        const [ids, streamId, n, expectedVersion, encoded, correlationId, causationId, userId] = values.map((_, i) => slot(i))
        const existing = sql`existing as (
          select ${eventColumns} from events
          where event_id = any(${ids}::text::text[]::uuid[])
        )`
        const bump = mode === "any"
          ? sql`bump as (
              insert into streams as s (stream_id, version) select ${streamId}::text, ${n}::int where not exists (select 1 from existing)
              on conflict (stream_id) do update set version = s.version + excluded.version, updated_at = now()
              returning s.version)`
          : mode === "no-stream"
          ? sql`bump as (
              insert into streams (stream_id, version) select ${streamId}::text, ${n}::int where not exists (select 1 from existing)
              on conflict (stream_id) do nothing
              returning version)`
          : mode === "exists"
          ? sql`bump as (
              update streams set version = version + ${n}::int, updated_at = now()
              where stream_id = ${streamId}::text and not exists (select 1 from existing)
              returning version)`
          : sql`bump as (
              update streams set version = version + ${n}::int, updated_at = now()
              where stream_id = ${streamId}::text and version = ${expectedVersion}::int and not exists (select 1 from existing)
              returning version)`
        // The inline projections' first step, over the rows just inserted (their data as sent: the
        // stored copy need not be read back), as more data-modifying CTEs of this statement. Over an
        // append that inserts nothing (a retry, a version conflict) they write nothing.
        const appended: LogEvents = (...handled) =>
          sql`(select position, version, type, data, recorded_at from inserted where type in (${sql.join(handled)}))`
        const statements = projected ? inlineWrites(types, appended)[0] ?? [] : []
        const projections = statements.length > 0 ? sql`, ${asCtes(statements, "p")}` : sql``
        return sql<SingleRow>`
          with ${existing}, ${bump},
          inserted as (
            insert into events (event_id, stream_id, version, type, schema_version, data, metadata, correlation_id, causation_id, user_id)
            select (e.value->>'eventId')::uuid, ${streamId}::text, bump.version - ${n}::int + e.ord::int,
                   e.value->>'type', (e.value->>'schemaVersion')::int, e.value->'data', e.value->'metadata',
                   ${correlationId}::text, ${causationId}::text, ${userId}::text
            from bump, jsonb_array_elements(${encoded}::text::jsonb) with ordinality as e(value, ord)
            order by e.ord
            returning position, transaction_id::text as transaction_id, event_id::text as event_id, stream_id, version, recorded_at,
              type, data
          )${projections}
          select
            (select coalesce(json_agg(x), '[]'::json) from existing x) as existing,
            (select coalesce(json_agg(json_build_object('position', i.position, 'transaction_id', i.transaction_id,
               'event_id', i.event_id, 'stream_id', i.stream_id, 'version', i.version, 'recorded_at', i.recorded_at)
               order by i.version), '[]'::json) from inserted i) as inserted,
            (select version from streams where stream_id = ${streamId}::text) as current_version`
      }, values)
      const { rows } = yield* db.query((q) => q.getExecutor().executeQuery(statement)) // as RawBuilder.execute does
      const result = rows[0]!
      return outcomeOf(p, result.existing, result.inserted, result.current_version ?? 0)
    })

  /**
   * One append in the caller's transaction (or its own), with its inline projections: the first
   * step of those that state their writes in the append's own statement, the rest after it.
   */
  const appendAlone = (p: Prepared) =>
    Effect.gen(function*() {
      const outcome = yield* singleStatement(p, true)
      const result = yield* outcome
      if (!result.alreadyAppended) yield* applyInline(result.events, 1)
      return result
    })

  const retryRaces = <A, E>(effect: Effect.Effect<A, E | SqlError>) =>
    effect.pipe(Effect.retry({
      while: isSerializationConflict,
      times: 5,
      schedule: Schedule.exponential("2 millis").pipe(Schedule.jittered)
    }))

  // Group commit (src/db/groupCommit.ts). Appends outside any transaction that no inline projection
  // needs to follow arrive here; those that arrive together go as ONE statement and one commit,
  // each getting its own outcome. A batch holds at most one append per stream and disjoint event
  // ids, and no two batches in flight share either: the statement never updates a stream row
  // twice, and batches never wait on each other. An unreachable database fails them all at once.
  const enqueue = groupCommit<Prepared, Effect.Effect<AppendResult, AppendError>, SqlError>({
    maxInFlight,
    maxBatch,
    keysOf: (p) => [`stream:${p.streamId}`, ...p.ids],
    runBatch: (batch) => retryRaces(batchStatement(batch)),
    runAlone: (p) => retryRaces(singleStatement(p)),
    failsAll: (cause) => isDatabaseUnavailable(Cause.squash(cause))
  })

  const append = Effect.fn("EventStore.append")(function*(
    streamId: string,
    events: ReadonlyArray<DomainEvent>,
    options: AppendOptions
  ) {
    if (events.length === 0) {
      const version = yield* streamVersion(streamId)
      return { streamId, version, events: [], alreadyAppended: false } satisfies AppendResult
    }
    const ids = options.eventIds ?? events.map(() => uuidV7())
    if (ids.length !== events.length || new Set(ids).size !== ids.length) {
      return yield* Effect.die(new Error("append: one distinct event id per event"))
    }
    const metadata: EventMetadata = {
      ...(options.correlationId !== undefined ? { correlationId: options.correlationId } : {}),
      ...(options.causationId !== undefined ? { causationId: options.causationId } : {}),
      ...(options.userId !== undefined ? { userId: options.userId } : {})
    }
    const encoded = events.map((event, i) => ({ eventId: ids[i]!, ...codec.encode(event), metadata }))
    const prepared: Prepared = { streamId, events, ids, encoded, metadata, options }
    // In the caller's transaction: today's one statement there, its projections after it.
    if (yield* db.inTransaction) return yield* appendAlone(prepared)
    // Two appends of one event id racing: the loser's statement fails on the unique index. Its
    // transaction is re-run (Database.transaction), and then sees the winner's event: "already
    // appended" (same content) or IdempotencyConflict.
    if (inline.some((projection) => events.some((e) => projection.handles.includes(e._tag)))) {
      return yield* db.transaction(appendAlone(prepared))
    }
    return yield* Effect.flatten(enqueue(prepared))
  })

  /** Same ids, same stream, same types and data, in order: a retry. Anything else: a conflict. */
  const idempotentOutcome = (
    streamId: string,
    ids: ReadonlyArray<string>,
    encoded: ReadonlyArray<{ type: string; data: Record<string, unknown> }>,
    existingRows: ReadonlyArray<EventRow>
  ) =>
    Effect.gen(function*() {
      const byId = new Map(existingRows.map((r) => [r.event_id, r]))
      const rows = ids.map((id) => byId.get(id))
      const matches = rows.every((row, i) =>
        row !== undefined && row.stream_id === streamId && row.type === encoded[i]!.type &&
        sameJson(row.data, encoded[i]!.data) && (i === 0 || row.version === rows[i - 1]!.version + 1)
      )
      if (!matches) {
        return yield* new IdempotencyConflict({
          streamId,
          reason: rows.some((r) => r === undefined)
            ? `${existingRows.length} of ${ids.length} event ids are already stored (partial retry)`
            : "event ids are already stored with other content or in another stream"
        })
      }
      const recorded = yield* decodeRows(rows as Array<EventRow>)
      return { streamId, version: recorded[recorded.length - 1]!.version, events: recorded, alreadyAppended: true }
    })

  /**
   * The steps of the inline projections that state their writes, for appended events of `types`
   * over `events`. Step k of each goes with step k of the others, as one statement (they write
   * tables of their own): an append that touches four projections costs a statement per step,
   * not per projection.
   */
  const inlineWrites = (types: ReadonlyArray<string>, events: LogEvents): Writes => {
    const steps: Array<Array<RawBuilder<unknown>>> = []
    for (const projection of inline) {
      const handled = [...new Set(types.filter((type) => projection.handles.includes(type)))]
      if (projection.writes === undefined || handled.length === 0) continue
      projection.writes(handled, events).forEach((step, k) => (steps[k] ??= []).push(...step))
    }
    return steps
  }

  // How many steps the inline projections take for appended events of these types (the same for the
  // same types): most appends have one, taken in their own statement, and build no SQL after it.
  const stepCounts = new Map<string, number>()
  const stepsFor = (types: ReadonlyArray<string>) => {
    const key = types.join(",")
    let count = stepCounts.get(key)
    if (count === undefined) {
      count = inlineWrites(types, () => sql``).length
      if (stepCounts.size >= 1_000) stepCounts.clear()
      stepCounts.set(key, count)
    }
    return count
  }

  /** The inline projections of appended events, from step `from` on; then those that apply in TypeScript. */
  const applyInline = (recorded: ReadonlyArray<RecordedEvent>, from: number) =>
    Effect.gen(function*() {
      const types = recorded.map((e) => e.type)
      if (stepsFor(types) > from) yield* runWrites(inlineWrites(types, eventsAt(recorded)).slice(from))
      for (const projection of inline) {
        const handled = recorded.filter((e) => projection.handles.includes(e.type))
        if (projection.writes === undefined && handled.length > 0) yield* projection.apply(handled)
      }
    }).pipe(Effect.provideService(Database, db))

  const streamVersion = (streamId: string) =>
    db.query((q) => q.selectFrom("streams").select("version").where("stream_id", "=", streamId).executeTakeFirst())
      .pipe(Effect.map((row) => row?.version ?? 0))

  const readStream = Effect.fn("EventStore.readStream")(function*(
    streamId: string,
    options: { readonly fromVersion?: number; readonly limit?: number } = {}
  ) {
    const { rows } = yield* db.query((q) =>
      sql<EventRow>`select ${eventColumns} from events
        where stream_id = ${streamId} and version >= ${options.fromVersion ?? 1}::int
        order by version limit ${options.limit ?? 1_000_000}::int`.execute(q)
    )
    return yield* decodeRows(rows)
  })

  const readAll = Effect.fn("EventStore.readAll")(function*(options: ReadAllOptions = {}) {
    const after = options.after ?? startOfTime
    const limit = options.limit ?? 1000
    const filters = sql.join([
      options.category !== undefined ? sql`and category = ${options.category}` : sql``,
      options.correlationId !== undefined ? sql`and correlation_id = ${options.correlationId}` : sql``,
      options.correlationIds !== undefined ? sql`and correlation_id = any(${textArray(options.correlationIds)})` : sql``,
      options.streamId !== undefined ? sql`and stream_id = ${options.streamId}` : sql``,
      options.userId !== undefined ? sql`and user_id = ${options.userId}` : sql``,
      options.listId !== undefined ? sql`and (data ->> 'listId') = ${options.listId}` : sql``,
      options.recordedFrom !== undefined ? sql`and recorded_at >= ${options.recordedFrom.toISOString()}::timestamptz` : sql``,
      // Times compare to the millisecond, as they leave the store (Date): `to` an event's time includes it.
      options.recordedTo !== undefined
        ? sql`and recorded_at < ${options.recordedTo.toISOString()}::timestamptz + interval '1 millisecond'`
        : sql``
    ], sql` `)
    const page = (type: string | undefined) =>
      sql`select ${eventColumns} from events
        where (transaction_id, position) > (${after.transactionId}::text::xid8, ${after.position}::bigint)
          and transaction_id < pg_snapshot_xmin(pg_current_snapshot())
          ${type !== undefined ? sql`and type = ${type}` : sql``}
          ${filters}
        order by events.transaction_id, events.position
        limit ${limit}::int`
    const types = options.types === undefined ? undefined : [...new Set(options.types)]
    if (types?.length === 0) return { events: [], checkpoint: after }
    // Several types: each an ordered scan of its own index, merged (an IN list would be sorted whole).
    const statement = types === undefined || types.length === 1 ? page(types?.[0]) : sql`select * from (${
      sql.join(types.map((type) => sql`(${page(type)})`), sql` union all `)
    }) e order by transaction_id::xid8, position limit ${limit}::int`
    const { rows } = yield* db.query((q) => sql<EventRow>`${statement}`.execute(q))
    const events = yield* decodeRows(rows)
    const last = events[events.length - 1]
    return { events, checkpoint: last ? { transactionId: last.transactionId, position: last.position } : after }
  })

  const head = db.query((q) =>
    sql<{ transaction_id: string; position: number }>`select transaction_id::text as transaction_id, position from events
      where transaction_id < pg_snapshot_xmin(pg_current_snapshot())
      order by events.transaction_id desc, events.position desc limit 1`.execute(q)
  ).pipe(Effect.map(({ rows }): Checkpoint =>
    rows[0] ? { transactionId: rows[0].transaction_id, position: Number(rows[0].position) } : startOfTime
  ))

  const checkpointAt = (position: number) =>
    db.query((q) =>
      sql<{ transaction_id: string }>`select transaction_id::text as transaction_id from events where position = ${position}::bigint`
        .execute(q)
    ).pipe(Effect.map(({ rows }) => rows[0] ? { transactionId: rows[0].transaction_id, position } : undefined))

  const readEvents = (eventIds: ReadonlyArray<string>) =>
    db.query((q) =>
      sql<EventRow>`select ${eventColumns} from events where event_id = any(${textArray(eventIds)}::uuid[])`.execute(q)
    ).pipe(
      Effect.flatMap(({ rows }) => decodeRows(rows)),
      Effect.map((events) => new Map(events.map((e) => [e.eventId, e])))
    )

  const readEvent = (eventId: string) => Effect.map(readEvents([eventId]), (found) => found.get(eventId))

  const readCommitted = (options: ReadCommittedOptions = {}) =>
    db.query((q) =>
      sql<EventRow>`select ${eventColumns} from events
        where position > ${options.afterPosition ?? 0}::bigint
          ${options.correlationId !== undefined ? sql`and correlation_id = ${options.correlationId}` : sql``}
          ${typesFilter(options.types)}
        order by position limit ${options.limit ?? 1_000_000}::int`.execute(q)
    ).pipe(Effect.flatMap(({ rows }) => decodeRows(rows)))

  const snapshot = db.query((q) => sql<{ snapshot: string }>`select pg_current_snapshot()::text as snapshot`.execute(q))
    .pipe(Effect.map(({ rows }) => rows[0]!.snapshot))

  /** Visible to `to` and not to `from` (which bounds transaction_id both ways, not as an index can use). */
  const visibleBetween = (options: ReadBetweenOptions) =>
    sql`pg_visible_in_snapshot(transaction_id, ${options.to}::text::pg_snapshot)
      and not pg_visible_in_snapshot(transaction_id, ${options.from}::text::pg_snapshot)`

  /** Rows `to` sees and `from` does not; the range conditions let an index find them. */
  const between = (options: ReadBetweenOptions) =>
    sql`position > ${options.afterPosition ?? 0}::bigint
      and transaction_id >= pg_snapshot_xmin(${options.from}::text::pg_snapshot)
      and transaction_id < pg_snapshot_xmax(${options.to}::text::pg_snapshot)
      and ${visibleBetween(options)}
      ${typesFilter(options.types)}`

  const readBetween = (options: ReadBetweenOptions) => {
    const limit = options.limit ?? 1000
    // The page by position, then cut where its data passes maxBytes (pg_column_size: as stored,
    // without reading the values); `candidates` tells a cut page from the last one.
    return db.query((q) =>
      sql<EventRow & { candidates: number }>`select * from (
          select page.*, count(*) over () as candidates,
            sum(pg_column_size(page.data)) over (order by page.position) - pg_column_size(page.data) as before
          from (select ${eventColumns} from events where ${between(options)} order by position limit ${limit}::int) page
        ) e
        where e.before < ${options.maxBytes ?? Number.MAX_SAFE_INTEGER}::bigint
        order by e.position`.execute(q)
    ).pipe(Effect.flatMap(({ rows }) =>
      Effect.map(decodeRows(rows), (events) => ({
        events,
        complete: rows.length === 0 || (rows.length === Number(rows[0]!.candidates) && rows.length < limit)
      }))
    ))
  }

  const countBetween = (options: ReadBetweenOptions) =>
    db.query((q) => sql<{ n: number }>`select count(*)::int as n from events where ${between(options)}`.execute(q))
      .pipe(Effect.map(({ rows }) => Number(rows[0]!.n)))

  /**
   * A replay finds its batches by position alone, whatever the plan (one for any values, as a
   * transaction keeps them, or the batch's): through an index by transaction or by type, each batch
   * walked the log from its start, or every event of a type — a rebuild that slows down as the log
   * grows. So the next `limit` events of the types are the first ones in position order, the
   * snapshot tested only by functions no index serves: the primary key's walk, stopped early by the
   * LIMIT (`replay-plans.int`). A batch is then a range of positions.
   */
  const nextBatch = (options: ReadBetweenOptions, limit: number) =>
    sql<{ n: number; last: string | null }>`select count(*)::int as n, max(position)::text as last from (
        select position from events
        where position > ${options.afterPosition ?? 0}::bigint and ${visibleBetween(options)}
          and ${options.types === undefined ? sql`true` : sql`type = any(${textArray(options.types)})`}
        order by position limit ${limit}::int) batch`

  const batchWhere = (options: ReadBetweenOptions, lastPosition: number) =>
    sql`position > ${options.afterPosition ?? 0}::bigint and position <= ${lastPosition}::bigint and ${visibleBetween(options)}`

  const replayBetween = (options: ReadBetweenOptions, fromLog: (events: LogEvents) => Writes) =>
    Effect.gen(function*() {
      const limit = options.limit ?? 1000
      const { rows } = yield* db.query((q) => nextBatch(options, limit).execute(q))
      const events = Number(rows[0]!.n)
      const lastPosition = Number(rows[0]!.last ?? 0)
      if (events > 0) {
        yield* runWrites(fromLog(storedEventsWhere(batchWhere(options, lastPosition))))
      }
      return { events, lastPosition, complete: events < limit }
    }).pipe(Effect.provideService(Database, db))

  return EventStore.of({
    append,
    readStream,
    streamVersion,
    readAll,
    checkpointAt,
    head,
    readEvent,
    readEvents,
    readCommitted,
    snapshot,
    readBetween,
    countBetween,
    replayBetween
  })
}

const typesFilter = (types: ReadonlyArray<string> | undefined) =>
  types === undefined ? sql`` : sql`and type in (select jsonb_array_elements_text(${JSON.stringify(types)}::text::jsonb))`

/** JSON equality that ignores key order (jsonb does not keep it). */
const sameJson = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const ka = Object.keys(a as object).filter((k) => (a as Record<string, unknown>)[k] !== undefined)
  const kb = Object.keys(b as object).filter((k) => (b as Record<string, unknown>)[k] !== undefined)
  return ka.length === kb.length &&
    ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
}
