/**
 * The `local` engine's side of the TaskQueue: records the run in `local_runs` (so a
 * restart, or another instance, can resume it) and signals the in-process engine.
 * Idempotent per import: enqueueing the same import again returns the run it already has.
 */
import { Effect, Layer, PubSub, Ref } from "effect"
import { randomBytesPooled } from "../../events/index.ts"
import { Database } from "../db/Database.ts"
import { LocalRunSignal } from "../pipeline/LocalEngine.ts"
import { EngineUnavailable, EnqueueError, type EnqueueRequest, type PreparedRuns, type RunState, TaskQueue } from "./TaskQueue.ts"

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"

/**
 * A run id of Trigger.dev's form: `run_` + 24 lowercase alphanumerics, the first 9 the time in
 * milliseconds (base 36), so a run's keys (local_runs, imports.run_id) are written in time order.
 */
export const mintRunId = (now: number = Date.now()): string =>
  "run_" + now.toString(36).padStart(9, "0").slice(-9) +
  Array.from(randomBytesPooled(15), (b) => ALPHABET[b % ALPHABET.length]).join("")

export const LocalTaskQueue = {
  layer: Layer.effect(
    TaskQueue,
    Effect.gen(function*() {
      const db = yield* Database
      const signal = yield* LocalRunSignal
      const enqueue = Effect.fn("TaskQueue.enqueue")(function*(request: EnqueueRequest) {
        const run = yield* db.query(async (q) => {
          await q.insertInto("local_runs").values({ run_id: mintRunId(), import_id: request.importId, account_id: request.accountId, status: "pending" })
            .onConflict((oc) => oc.column("import_id").doNothing()).execute()
          return q.selectFrom("local_runs").select(["run_id", "status"]).where("import_id", "=", request.importId)
            .executeTakeFirstOrThrow()
        }).pipe(Effect.mapError((e) => new EnqueueError({ message: `local engine: ${e.message}`, cause: e })))
        if (run.status === "pending") {
          yield* PubSub.publish(signal.runs, { runId: run.run_id, importId: request.importId, accountId: request.accountId })
        }
        return { runId: run.run_id }
      })

      // The engine stops at its next stage by itself: every stage checks for the cancel first.
      const cancel = (_runId: string) => Effect.void

      const runState = (runId: string) =>
        db.query((q) => q.selectFrom("local_runs").select("status").where("run_id", "=", runId).executeTakeFirst()).pipe(
          Effect.map((row): RunState =>
            row?.status === "pending" ? { _tag: "Active" } : { _tag: "Gone", status: row ? "done" : "missing", canceled: false }
          ),
          Effect.mapError((e) => new EngineUnavailable({ message: `local engine: ${e.message}`, cause: e }))
        )

      // The import command writes the run itself (local_runs, in its own statement), leased to the
      // engine of this process if one runs: wake it.
      const prepared: PreparedRuns = {
        mint: Effect.map(Ref.get(signal.engine), (engine) => ({ runId: mintRunId(), heldBy: engine })),
        started: (request, run) =>
          PubSub.publish(signal.runs, { runId: run.runId, importId: request.importId, accountId: request.accountId, heldBy: run.heldBy })
            .pipe(Effect.asVoid)
      }

      return TaskQueue.of({ engine: "local", enqueue, cancel, runState, prepared })
    })
  )
}
