/**
 * Runs async projections: reads the events after a projection's checkpoint, applies
 * them and moves the checkpoint, all in one transaction.
 *
 * - Exactly once: the checkpoint update is a compare-and-set on the checkpoint the
 *   batch started from, in the same transaction as the projection's writes, so a
 *   crash between the two rolls both back and a stale runner cannot commit.
 * - One owner: each batch first takes a transaction-scoped advisory lock keyed by the
 *   projection name; a second process that finds it taken does nothing this round.
 */
import { Context, Duration, Effect, Layer, Schedule, Schema } from "effect"
import { sql } from "kysely"
import { Database, type SqlError } from "../db/Database.ts"
import { type Checkpoint, EventStore, startOfTime } from "./EventStore.ts"
import type { Projection } from "./Projection.ts"

export class CheckpointConflict extends Schema.TaggedError<CheckpointConflict>()("CheckpointConflict", {
  projection: Schema.String
}) {
  override get message() {
    return `projection ${this.projection}: checkpoint moved under this runner`
  }
}

export type BatchOutcome =
  | { readonly _tag: "Applied"; readonly events: number; readonly checkpoint: Checkpoint }
  | { readonly _tag: "CaughtUp" }
  | { readonly _tag: "Locked" }

export interface ProjectionStatus {
  readonly name: string
  readonly checkpoint: Checkpoint
  /** Committed events of the handled types not yet applied. */
  readonly lag: number
}

export interface RunOptions {
  readonly batchSize?: number
  /** Test hook: runs after the handler, before the checkpoint moves (simulate a crash there). */
  readonly afterApply?: Effect.Effect<void, unknown>
}

export class ProjectionRunner extends Context.Service<ProjectionRunner, {
  /** Applies one batch of `projection` if this process can take it. */
  runBatch(projection: Projection, options?: RunOptions): Effect.Effect<BatchOutcome, SqlError | CheckpointConflict | unknown>
  /** Applies batches until caught up (or another owner holds it); returns the events applied. */
  catchUp(projection: Projection, options?: RunOptions): Effect.Effect<number, SqlError | CheckpointConflict | unknown>
  status(projection: Projection): Effect.Effect<ProjectionStatus, SqlError>
}>()("app/eventstore/ProjectionRunner") {
  static readonly layer = Layer.effect(
    ProjectionRunner,
    Effect.gen(function*() {
      const db = yield* Database
      const store = yield* EventStore

      const ensureCheckpoint = (name: string) =>
        db.query((q) =>
          q.insertInto("projection_checkpoints").values({ name }).onConflict((oc) => oc.column("name").doNothing())
            .execute()
        )

      const readCheckpoint = (name: string) =>
        db.query((q) =>
          sql<{ transaction_id: string; position: number }>`
            select transaction_id::text as transaction_id, position from projection_checkpoints where name = ${name}`
            .execute(q)
        ).pipe(Effect.map(({ rows }) =>
          rows[0] ? { transactionId: rows[0].transaction_id, position: Number(rows[0].position) } : startOfTime
        ))

      const runBatch = (projection: Projection, options: RunOptions = {}) =>
        Effect.gen(function*() {
          yield* ensureCheckpoint(projection.name)
          return yield* db.transaction(Effect.gen(function*() {
            const { rows } = yield* db.query((q) =>
              sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(hashtext('projection:' || ${projection.name})) as locked`
                .execute(q)
            )
            if (!rows[0]?.locked) return { _tag: "Locked" } as const
            const from = yield* readCheckpoint(projection.name)
            const { events, checkpoint } = yield* store.readAll({
              after: from,
              types: projection.handles,
              limit: options.batchSize ?? 500
            })
            if (events.length === 0) return { _tag: "CaughtUp" } as const
            yield* projection.apply(events).pipe(Effect.provideService(Database, db))
            if (options.afterApply) yield* options.afterApply
            const moved = yield* db.query((q) =>
              sql`update projection_checkpoints
                  set transaction_id = ${checkpoint.transactionId}::text::xid8, position = ${checkpoint.position}::bigint, updated_at = now()
                  where name = ${projection.name}
                    and transaction_id = ${from.transactionId}::text::xid8 and position = ${from.position}::bigint`
                .execute(q)
            )
            if (Number(moved.numAffectedRows ?? 0) !== 1) {
              return yield* new CheckpointConflict({ projection: projection.name })
            }
            return { _tag: "Applied", events: events.length, checkpoint } as const
          }))
        }).pipe(Effect.withSpan("ProjectionRunner.runBatch", { attributes: { projection: projection.name } }))

      const catchUp = (projection: Projection, options: RunOptions = {}) =>
        Effect.gen(function*() {
          let applied = 0
          while (true) {
            const outcome = yield* runBatch(projection, options)
            if (outcome._tag !== "Applied") return applied
            applied += outcome.events
          }
        })

      const status = (projection: Projection) =>
        Effect.gen(function*() {
          const checkpoint = yield* readCheckpoint(projection.name)
          const { rows } = yield* db.query((q) =>
            sql<{ lag: number }>`select count(*)::int as lag from events
              where (transaction_id, position) > (${checkpoint.transactionId}::text::xid8, ${checkpoint.position}::bigint)
                and type in (select jsonb_array_elements_text(${JSON.stringify(projection.handles)}::text::jsonb))`
              .execute(q)
          )
          return { name: projection.name, checkpoint, lag: rows[0]?.lag ?? 0 }
        })

      return ProjectionRunner.of({ runBatch, catchUp, status })
    })
  )

  /**
   * Keeps `projections` caught up in the background for as long as the layer lives:
   * polls every `interval`, and backs off on failure instead of stopping.
   */
  static readonly daemon = (projections: ReadonlyArray<Projection>, interval: Duration.Input = "100 millis") =>
    Layer.effectDiscard(Effect.gen(function*() {
      const runner = yield* ProjectionRunner
      for (const projection of projections) {
        yield* runner.catchUp(projection).pipe(
          Effect.tapError((e) => Effect.logWarning(`projection ${projection.name} failed; retrying`, e)),
          Effect.retry(Schedule.min([Schedule.exponential("100 millis"), Schedule.spaced("5 seconds")])),
          Effect.repeat(Schedule.spaced(interval)),
          Effect.forkScoped
        )
      }
    }))
}
