/**
 * The reconciler: the service's own check that no accepted import is left behind, every
 * RECONCILE_INTERVAL_MS (default 5 s; 0 turns it off):
 *
 *  1. outbox entries not dispatched after RECONCILE_OUTBOX_GRACE_MS (default 3 s) are
 *     dispatched (a client that hung up, a crash, an outage); an engine that keeps refusing
 *     one gets it ended and refunded;
 *  2. an import whose cancel is recorded but that has not ended is ended as canceled (and
 *     idempotency keys older than 24 hours are forgotten);
 *  3. an import that has not ended, has been quiet for RECONCILE_QUIET_MS (default 10 s) and
 *     whose run is gone — Trigger.dev says canceled, crashed, failed, system failure, expired,
 *     timed out, or completed without ending it; the local run is done or missing — is ended:
 *     refunded exactly once, ImportCanceled (canceled from outside) or ImportFailed with why.
 *
 * Several service instances may run it at once: every step is idempotent (deterministic
 * event ids under the import's lock, Trigger.dev idempotency keys).
 */
import { Config, Context, Effect, Layer, Schedule } from "effect"
import { sql } from "kysely"
import { Database, type SqlError } from "../db/Database.ts"
import type { ImportOutcome } from "../../events/index.ts"
import { ImportStages } from "../pipeline/ImportStages.ts"
import { idempotencyKeys } from "./idempotency.ts"
import { Imports } from "./Imports.ts"
import { TaskQueue } from "./TaskQueue.ts"

export interface ReconcileReport {
  /** Outbox entries dispatched. */
  readonly dispatched: number
  /** Imports this pass ended, and how. */
  readonly ended: ReadonlyArray<{ readonly importId: string; readonly runId: string | null; readonly outcome: ImportOutcome }>
}

export interface ReconcilerOptions {
  readonly outboxGraceMs: number
  readonly quietMs: number
}

interface ActiveImport {
  readonly import_id: string
  readonly run_id: string | null
  readonly engine: string | null
  readonly cancel_requested: boolean
}

/** Imports checked per pass, oldest activity first; the next pass takes the rest. */
const BATCH = 200

export class Reconciler extends Context.Service<Reconciler, {
  /** One pass over the outbox and the imports that have not ended. */
  tick(options?: Partial<ReconcilerOptions>): Effect.Effect<ReconcileReport, SqlError>
}>()("app/imports/Reconciler") {
  /** The reconciler, running every RECONCILE_INTERVAL_MS in the background while the service lives. */
  static readonly layer = Layer.effect(
    Reconciler,
    Effect.gen(function*() {
      const db = yield* Database
      const imports = yield* Imports
      const stages = yield* ImportStages
      const queue = yield* TaskQueue
      const intervalMs = yield* Config.Int("RECONCILE_INTERVAL_MS").pipe(Config.withDefault(5_000))
      const defaults: ReconcilerOptions = {
        outboxGraceMs: yield* Config.Int("RECONCILE_OUTBOX_GRACE_MS").pipe(Config.withDefault(3_000)),
        quietMs: yield* Config.Int("RECONCILE_QUIET_MS").pipe(Config.withDefault(10_000))
      }

      const end = (row: ActiveImport, because: ImportOutcome, why: string) =>
        Effect.gen(function*() {
          const outcome = yield* stages.end(row.import_id, because)
          yield* Effect.logWarning(`reconciler: ended import ${row.import_id} (run ${row.run_id ?? "none"}): ${why}`)
          return [{ importId: row.import_id, runId: row.run_id, outcome }]
        }).pipe(Effect.catch((e) => Effect.as(Effect.logWarning(`reconciler: could not end import ${row.import_id} yet`, e), [])))

      /** What to do about one import that has not ended: nothing, or end it. */
      const reconcile = (row: ActiveImport) =>
        Effect.gen(function*() {
          if (row.cancel_requested) return yield* end(row, { outcome: "canceled" }, "its cancel was recorded but it had not ended")
          if (row.run_id === null || row.engine !== queue.engine) return []
          const state = yield* queue.runState(row.run_id).pipe(
            Effect.catch((e) => Effect.as(Effect.logWarning(`reconciler: cannot ask about run ${row.run_id}`, e), { _tag: "Active" as const }))
          )
          if (state._tag === "Active") return []
          return yield* state.canceled
            ? end(row, { outcome: "canceled" }, `its run was canceled on ${queue.engine}`)
            : end(
              row,
              { outcome: "failed", error: `the ${queue.engine} run ${row.run_id} ended (${state.status}) without finishing the import` },
              `its run is gone (${state.status})`
            )
        })

      const tick = (options: Partial<ReconcilerOptions> = {}) =>
        Effect.gen(function*() {
          const { outboxGraceMs, quietMs } = { ...defaults, ...options }
          const dispatched = yield* imports.dispatchPending(outboxGraceMs)
          yield* idempotencyKeys(db).expire
          const { rows } = yield* db.query((q) =>
            sql<ActiveImport>`
              select import_id::text as import_id, run_id, engine, cancel_requested from imports
              where status in ('queued', 'running') and updated_at <= now() - ${quietMs} * interval '1 millisecond'
              order by updated_at limit ${BATCH}`.execute(q)
          )
          const ended = yield* Effect.forEach(rows, reconcile, { concurrency: 8 })
          return { dispatched, ended: ended.flat() }
        })

      if (intervalMs > 0) {
        yield* tick().pipe(
          Effect.catch((e) => Effect.logWarning("reconciler: pass failed; trying again next interval", e)),
          Effect.repeat(Schedule.spaced(`${intervalMs} millis`)),
          Effect.delay(`${intervalMs} millis`),
          Effect.forkScoped
        )
      }
      return Reconciler.of({ tick })
    })
  )
}
