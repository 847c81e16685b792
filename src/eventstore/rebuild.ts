/**
 * Blue/green rebuild of a projection: replay the log from the first event into the NEXT
 * generation of its tables (generations.ts) while the live one keeps serving reads and keeps
 * being written by the inline projections; catch up with what was appended meanwhile; then,
 * in one transaction holding the live tables, apply the last events, drop the live tables
 * and move the new ones in. Readers never see a half-built table: until that commit it is in
 * a schema nobody reads.
 *
 * What the new generation holds is tracked by snapshots, not positions (a lower position can
 * commit after a higher one): it holds every event visible in `applied_snapshot`. A step
 * applies the next batch of the events visible in `target_snapshot` and not in
 * `applied_snapshot`, in position order — one multi-row write per table — and records how far
 * it got in the same transaction as its writes. A crash loses or repeats nothing: the next
 * step, in this process or another, goes on from the recorded state. A projection stated over the
 * log (`fromLog`) is replayed where the events are stored: nothing is read into this process.
 */
import { Effect, Fiber, Schema } from "effect"
import { sql } from "kysely"
import { migrations } from "../../migrations/index.ts"
import { Database, type SqlError } from "../db/Database.ts"
import { EMPTY_SNAPSHOT, EventStore, type RecordedEvent } from "./EventStore.ts"
import {
  createGeneration,
  generationReady,
  generationSchema,
  indexGeneration,
  liveTables,
  lockLive,
  switchTo,
  writeInto
} from "./generations.ts"
import type { Projection } from "./Projection.ts"

export class RebuildRunning extends Schema.TaggedError<RebuildRunning>()("RebuildRunning", {
  name: Schema.String,
  version: Schema.Int
}) {
  override get message() {
    return `projection ${this.name}: version ${this.version} is being rebuilt already`
  }
}

export interface RebuildOptions {
  /** Who runs it: one process at a time holds a rebuild's lease. */
  readonly owner: string
  /** Events per step (one transaction), at most; steps are sized to take about a second. */
  readonly batchSize?: number
  /** Stored bytes of event data per step, at most (at least one event): memory stays flat whatever the events' size. */
  readonly maxBatchBytes?: number
  /** At most this many events per second; 0 (default) as fast as it goes. */
  readonly maxEventsPerSecond?: number
  readonly leaseMs?: number
  /** How long the switch waits for the live tables before it catches up again and retries. */
  readonly lockTimeoutMs?: number
}

const defaults = { batchSize: 10_000, maxBatchBytes: 2 * 1024 * 1024, maxEventsPerSecond: 0, leaseMs: 15_000, lockTimeoutMs: 500 }

/** How long a step should take: the step size follows the pace of the last one. */
const STEP_MS = 1000

/** The newest migration: a rebuild resumed under another schema starts over. */
const LATEST_MIGRATION = Object.keys(migrations).at(-1)!

interface State {
  readonly version: number
  readonly building: number | null
  readonly applied_snapshot: string | null
  readonly target_snapshot: string | null
  readonly cursor: number
  readonly processed: number
  readonly total: number
  readonly migration: string | null
  readonly lease_owner: string | null
  readonly lease_expired: boolean
}

/** The projection's row, locked for the rest of the transaction (created on first use). */
const lockState = (db: Database["Service"], name: string) =>
  Effect.gen(function*() {
    yield* db.query((q) =>
      q.insertInto("projection_versions").values({ name }).onConflict((oc) => oc.column("name").doNothing()).execute()
    )
    const { rows } = yield* db.query((q) =>
      sql<State>`select version, building, applied_snapshot::text as applied_snapshot, target_snapshot::text as target_snapshot,
          cursor, processed, total, migration, lease_owner, coalesce(lease_expires_at < now(), true) as lease_expired
        from projection_versions where name = ${name} for update`.execute(q)
    )
    const row = rows[0]!
    return { ...row, cursor: Number(row.cursor), processed: Number(row.processed), total: Number(row.total) }
  })

const mayRun = (state: State, owner: string) =>
  state.lease_owner === null || state.lease_owner === owner || state.lease_expired

/**
 * Starts rebuilding `projection` into its next version: creates the empty generation and
 * counts what there is to replay. The caller (or whoever takes the lease over) runs it.
 */
export const beginRebuild = (projection: Projection, options: RebuildOptions) =>
  Effect.gen(function*() {
    const db = yield* Database
    const store = yield* EventStore
    const leaseMs = options.leaseMs ?? defaults.leaseMs
    return yield* db.transaction(Effect.gen(function*() {
      const state = yield* lockState(db, projection.name)
      if (state.building !== null) return yield* new RebuildRunning({ name: projection.name, version: state.building })
      const building = state.version + 1
      yield* createGeneration(db, generationSchema(projection.name, building), projection.tables)
      const target = yield* store.snapshot
      const total = yield* store.countBetween({ from: EMPTY_SNAPSHOT, to: target, types: projection.handles })
      yield* db.query((q) =>
        sql`update projection_versions set building = ${building}, applied_snapshot = ${EMPTY_SNAPSHOT}::text::pg_snapshot,
            target_snapshot = ${target}::text::pg_snapshot, cursor = 0, processed = 0, total = ${total},
            migration = ${LATEST_MIGRATION}, started_at = now(), lease_owner = ${options.owner},
            lease_expires_at = now() + ${leaseMs} * interval '1 millisecond', rate_since = now(), rate_processed = 0,
            updated_at = now()
          where name = ${projection.name}`.execute(q)
      )
      return { name: projection.name, version: building }
    }))
  })

/** Which events a step reads: what `to` sees and `from` does not, after a position. */
interface Read {
  readonly from: string
  readonly to: string
  readonly afterPosition: number
}
const sameRead = (a: Read, b: Read) => a.from === b.from && a.to === b.to && a.afterPosition === b.afterPosition

/**
 * The next batch, read ahead on a connection of its own while this step applies its batch: the
 * events a past snapshot sees are fixed, so it is what the next step would read — if the
 * recorded state still says so when it starts (else that step reads for itself).
 */
interface ReadAhead {
  readonly read: Read
  readonly batch: Fiber.Fiber<{ readonly events: ReadonlyArray<RecordedEvent>; readonly complete: boolean }, SqlError>
}

type Step =
  | { readonly _tag: "Applied"; readonly events: number; readonly deltaDone: boolean; readonly ahead?: ReadAhead }
  /** No rebuild of it is in progress (it switched). */
  | { readonly _tag: "Finished" }
  /** Another process holds its lease. */
  | { readonly _tag: "Elsewhere" }

const applyTo = (projection: Projection, events: ReadonlyArray<RecordedEvent>) =>
  events.length === 0 ? Effect.void : projection.apply(events)

/** Applies the next batch of the rebuild into the new generation (one transaction). */
const step = (projection: Projection, options: RebuildOptions, batchSize: number, ahead: ReadAhead | undefined) =>
  Effect.gen(function*() {
    const db = yield* Database
    const store = yield* EventStore
    const leaseMs = options.leaseMs ?? defaults.leaseMs
    const readBatch = (read: Read) =>
      store.readBetween({ ...read, types: projection.handles, limit: batchSize, maxBytes: options.maxBatchBytes ?? defaults.maxBatchBytes })
    // Joined before the transaction begins: on PGlite the read needs the one connection.
    const early = ahead === undefined ? undefined : { read: ahead.read, batch: yield* Fiber.join(ahead.batch) }
    return yield* db.transaction(Effect.gen(function*(): Effect.gen.Return<Step, SqlError, Database> {
      const state = yield* lockState(db, projection.name)
      if (state.building === null) return { _tag: "Finished" }
      if (!mayRun(state, options.owner)) return { _tag: "Elsewhere" }
      const schema = generationSchema(projection.name, state.building)
      if (state.migration !== LATEST_MIGRATION || !(yield* generationReady(db, schema, projection.tables))) {
        // Taken over after the schema changed (the half-built tables have the old shape), or its
        // tables are gone: start over.
        yield* createGeneration(db, schema, projection.tables)
        yield* db.query((q) =>
          sql`update projection_versions set applied_snapshot = ${EMPTY_SNAPSHOT}::text::pg_snapshot, target_snapshot = null,
              cursor = 0, processed = 0, total = 0, migration = ${LATEST_MIGRATION}, updated_at = now()
            where name = ${projection.name}`.execute(q)
        )
        return { _tag: "Applied", events: 0, deltaDone: false }
      }
      const applied = state.applied_snapshot ?? EMPTY_SNAPSHOT
      let target = state.target_snapshot
      let total = state.total
      if (target === null) {
        target = yield* store.snapshot
        total += yield* store.countBetween({ from: applied, to: target, types: projection.handles })
      }
      yield* writeInto(db, schema)
      const read: Read = { from: applied, to: target, afterPosition: state.cursor }
      const { applied: events, deltaDone, cursor, readAhead } = yield* (() => {
        if (projection.fromLog !== undefined) {
          // Replayed where the events are stored: nothing to read ahead.
          return Effect.map(
            store.replayBetween({ ...read, types: projection.handles, limit: batchSize }, projection.fromLog),
            (batch) => ({ applied: batch.events, deltaDone: batch.complete, cursor: batch.complete ? 0 : batch.lastPosition, readAhead: undefined })
          )
        }
        return Effect.gen(function*() {
          const { events, complete } = early !== undefined && sameRead(early.read, read) ? early.batch : yield* readBatch(read)
          const cursor = complete ? 0 : events[events.length - 1]!.position
          const next: Read = { from: applied, to: target, afterPosition: cursor }
          const readAhead: ReadAhead | undefined = complete
            ? undefined
            : { read: next, batch: yield* Effect.forkDetach(db.outsideTransaction(readBatch(next))) }
          yield* applyTo(projection, events).pipe(Effect.onError(() => readAhead ? Fiber.interrupt(readAhead.batch) : Effect.void))
          return { applied: events.length, deltaDone: complete, cursor, readAhead }
        })
      })()
      yield* db.query((q) =>
        sql`update projection_versions set
            applied_snapshot = ${deltaDone ? target : applied}::text::pg_snapshot,
            target_snapshot = ${deltaDone ? null : target}::text::pg_snapshot,
            cursor = ${cursor}, processed = processed + ${events}, total = greatest(${total}, processed + ${events}),
            lease_owner = ${options.owner}, lease_expires_at = now() + ${leaseMs} * interval '1 millisecond',
            rate_since = case when lease_owner = ${options.owner} then rate_since else now() end,
            rate_processed = case when lease_owner = ${options.owner} then rate_processed else processed end,
            updated_at = now()
          where name = ${projection.name}`.execute(q)
      )
      return { _tag: "Applied", events, deltaDone, ...(readAhead ? { ahead: readAhead } : {}) }
    }))
  })

/**
 * Builds the new generation's indexes once its rows are loaded (one transaction; the steps
 * after it maintain them), instead of maintaining them row by row through the replay.
 */
const indexOver = (projection: Projection, options: RebuildOptions) =>
  Effect.gen(function*() {
    const db = yield* Database
    const leaseMs = options.leaseMs ?? defaults.leaseMs
    return yield* db.transaction(Effect.gen(function*(): Effect.gen.Return<"Indexed" | "Finished" | "Elsewhere", SqlError, Database> {
      const state = yield* lockState(db, projection.name)
      if (state.building === null) return "Finished"
      if (!mayRun(state, options.owner)) return "Elsewhere"
      const schema = generationSchema(projection.name, state.building)
      // A generation being started over is indexed at its next switch attempt.
      if (state.migration !== LATEST_MIGRATION || !(yield* generationReady(db, schema, projection.tables))) return "Indexed"
      yield* indexGeneration(db, schema, projection.tables)
      yield* db.query((q) =>
        sql`update projection_versions set lease_owner = ${options.owner},
            lease_expires_at = now() + ${leaseMs} * interval '1 millisecond', updated_at = now()
          where name = ${projection.name}`.execute(q)
      )
      return "Indexed"
    }))
  })

type Switch =
  | { readonly _tag: "Switched"; readonly events: number }
  | { readonly _tag: "NotCaughtUp" }
  | { readonly _tag: "Finished" }
  | { readonly _tag: "Elsewhere" }

/**
 * The switch, in one transaction: take the live tables (every reader and writer of them has
 * finished; the next ones wait), apply what committed since the last step, drop the live
 * tables, move the new generation in. Fails with SQLSTATE 55P03 if the tables stay busy.
 */
const switchOver = (projection: Projection, options: RebuildOptions, batchSize: number) =>
  Effect.gen(function*() {
    const db = yield* Database
    const store = yield* EventStore
    return yield* db.transaction(Effect.gen(function*(): Effect.gen.Return<Switch, SqlError, Database> {
      const state = yield* lockState(db, projection.name)
      if (state.building === null) return { _tag: "Finished" }
      if (!mayRun(state, options.owner)) return { _tag: "Elsewhere" }
      const schema = generationSchema(projection.name, state.building)
      // Only right after a catch-up round (a step may have started another since): catch up first.
      if (state.target_snapshot !== null || state.migration !== LATEST_MIGRATION || !(yield* generationReady(db, schema, projection.tables))) {
        return { _tag: "NotCaughtUp" }
      }
      // Built by indexOver already; after a crash or a start over, here (before the live tables are held).
      yield* indexGeneration(db, schema, projection.tables)
      const live = yield* liveTables(db, projection.tables)
      yield* lockLive(db, live, options.lockTimeoutMs ?? defaults.lockTimeoutMs)
      yield* writeInto(db, schema)
      // Taken after the lock: whatever commits later and touches these tables writes the new ones.
      const last = yield* store.snapshot
      const applied = state.applied_snapshot ?? EMPTY_SNAPSHOT
      let events = 0
      for (let cursor = 0;;) {
        const read = { from: applied, to: last, types: projection.handles, afterPosition: cursor, limit: batchSize }
        if (projection.fromLog !== undefined) {
          const batch = yield* store.replayBetween(read, projection.fromLog)
          events += batch.events
          if (batch.complete) break
          cursor = batch.lastPosition
          continue
        }
        const batch = yield* store.readBetween({ ...read, maxBytes: options.maxBatchBytes ?? defaults.maxBatchBytes })
        yield* applyTo(projection, batch.events)
        events += batch.events.length
        if (batch.complete) break
        cursor = batch.events[batch.events.length - 1]!.position
      }
      yield* switchTo(db, schema, live)
      yield* db.query((q) =>
        sql`update projection_versions set version = building, building = null, applied_snapshot = null, target_snapshot = null,
            cursor = 0, processed = processed + ${events}, total = greatest(total, processed + ${events}),
            lease_owner = null, lease_expires_at = null, updated_at = now()
          where name = ${projection.name}`.execute(q)
      )
      return { _tag: "Switched", events }
    }))
  })

/** How a run of a rebuild ended in this process. */
export type RebuildEnd = "switched" | "finished-elsewhere" | "running-elsewhere"

/**
 * Runs the rebuild of `projection` until it has switched (or another process holds it):
 * steps until a catch-up round fits in one step, then the switch; a switch that found
 * the tables busy catches up again and retries.
 */
export const runRebuild = (projection: Projection, options: RebuildOptions) =>
  Effect.gen(function*() {
    const maxRate = options.maxEventsPerSecond ?? defaults.maxEventsPerSecond
    // Throttled, a step is at most a second of work, so the lease never lapses in a pause.
    const batchSize = Math.max(1, Math.min(options.batchSize ?? defaults.batchSize, maxRate > 0 ? maxRate : Infinity))
    // Steps in this catch-up round: a round done in one step (never cut short) is small enough to switch.
    let steps = 0
    let limit = Math.min(batchSize, 1000)
    let busy = 0
    let indexed = false
    let ahead: ReadAhead | undefined
    while (true) {
      const started = Date.now()
      const outcome = yield* step(projection, options, limit, ahead)
      ahead = outcome._tag === "Applied" ? outcome.ahead : undefined
      if (outcome._tag === "Finished") return "finished-elsewhere" satisfies RebuildEnd
      if (outcome._tag === "Elsewhere") return "running-elsewhere" satisfies RebuildEnd
      steps++
      // Steps of about STEP_MS whatever the projection's pace: a slow one never holds its lease
      // or a transaction for long, a fast one gets big steps.
      const elapsed = Date.now() - started
      if (outcome.events > 0 && elapsed > 0) {
        limit = Math.max(1, Math.min(batchSize, Math.round((outcome.events * STEP_MS) / elapsed)))
      }
      if (maxRate > 0) yield* Effect.sleep(Math.max(0, (outcome.events * 1000) / maxRate - (Date.now() - started)))
      if (!outcome.deltaDone) continue
      if (!indexed) {
        // The replay is done: its indexes now, then catch up with what came meanwhile.
        const indexing = yield* indexOver(projection, options)
        if (indexing === "Finished") return "finished-elsewhere" satisfies RebuildEnd
        if (indexing === "Elsewhere") return "running-elsewhere" satisfies RebuildEnd
        indexed = true
        ahead = undefined
        steps = 0
        continue
      }
      const small = steps === 1
      steps = 0
      if (!small) continue
      const switched = yield* switchOver(projection, options, batchSize).pipe(
        Effect.catchIf((e) => e._tag === "SqlError" && e.code === "55P03", () => Effect.succeed({ _tag: "Busy" } as const))
      )
      if (switched._tag === "Switched") return "switched" satisfies RebuildEnd
      if (switched._tag === "Finished") return "finished-elsewhere" satisfies RebuildEnd
      if (switched._tag === "Elsewhere") return "running-elsewhere" satisfies RebuildEnd
      if (switched._tag === "NotCaughtUp") continue
      busy++
      yield* Effect.logInfo(`rebuild ${projection.name}: the live tables were busy; catching up and trying again`)
      yield* Effect.sleep(Math.min(2000, 50 * 2 ** Math.min(busy, 6)))
    }
  })

/**
 * Rebuilds `projections` one after the other in this fiber (blue/green, as the service does):
 * for tests and tooling. Returns each one's new version and how many events it replayed.
 */
export const rebuildProjections = (projections: ReadonlyArray<Projection>, options: Partial<RebuildOptions> = {}) =>
  Effect.gen(function*() {
    const db = yield* Database
    const owner = options.owner ?? `rebuild-${crypto.randomUUID()}`
    const rebuilt: Array<{ readonly name: string; readonly version: number; readonly events: number }> = []
    for (const projection of projections) {
      const { version } = yield* beginRebuild(projection, { ...options, owner })
      yield* runRebuild(projection, { ...options, owner })
      const row = yield* db.query((q) =>
        q.selectFrom("projection_versions").select(["processed"]).where("name", "=", projection.name).executeTakeFirstOrThrow()
      )
      rebuilt.push({ name: projection.name, version, events: Number(row.processed) })
    }
    return rebuilt
  })
