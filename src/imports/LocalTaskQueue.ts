/**
 * The `local` engine's side of the TaskQueue: records the run in `local_runs` (so a
 * restart can resume it) and signals the in-process engine. Idempotent per import:
 * enqueueing the same import again returns the run it already has.
 */
import { Context, Effect, Layer, PubSub } from "effect"
import { randomBytes } from "node:crypto"
import { Database } from "../db/Database.ts"
import { EnqueueError, type EnqueueRequest, TaskQueue } from "./TaskQueue.ts"

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"

/** A run id of Trigger.dev's form: `run_` + 24 lowercase alphanumerics. */
export const mintRunId = (): string =>
  "run_" + Array.from(randomBytes(24), (b) => ALPHABET[b % ALPHABET.length]).join("")

export interface LocalRun {
  readonly runId: string
  readonly importId: string
  /** The LinkedIn account the import searches with: one run at a time per account. */
  readonly accountId: string
}

/** Runs handed to the in-process engine, as they are enqueued. */
export class LocalRunSignal extends Context.Service<LocalRunSignal, PubSub.PubSub<LocalRun>>()("app/imports/LocalRunSignal") {
  static readonly layer = Layer.effect(LocalRunSignal, PubSub.unbounded<LocalRun>())
}

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
          yield* PubSub.publish(signal, { runId: run.run_id, importId: request.importId, accountId: request.accountId })
        }
        return { runId: run.run_id }
      })
      return TaskQueue.of({ engine: "local", enqueue })
    })
  )
}
