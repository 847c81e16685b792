/**
 * TASK_ENGINE=local: runs imports in this process with the same orchestrator,
 * stages and retry policy as the Trigger.dev tasks.
 *
 * - Bounded: at most LOCAL_ENGINE_CONCURRENCY imports at once, and one at a time per
 *   LinkedIn account (the concurrency key Trigger.dev uses to pace an account).
 * - Durable: a run stays `pending` in local_runs until its import has ended; at start
 *   every pending run resumes from its events. A SIGKILL mid-import loses nothing.
 */
import { Config, Effect, Layer, PubSub, Schedule } from "effect"
import * as Semaphore from "effect/Semaphore"
import { Database } from "../db/Database.ts"
import { type LocalRun, LocalRunSignal } from "../imports/LocalTaskQueue.ts"
import { ImportStages } from "./ImportStages.ts"
import { type RetryPolicy, STAGE_RETRY, withRetry } from "./retryPolicy.ts"
import { runImport, type StageRunner } from "./runImport.ts"

/** Stages called in-process, each with the retry policy. */
export const localStageRunner = (stages: ImportStages["Service"], policy: RetryPolicy = STAGE_RETRY): StageRunner => {
  const retry = withRetry(policy)
  return {
    fetchPage: (importId, page) => retry(stages.fetchPage(importId, page)),
    dedupe: (importId, page) => retry(stages.dedupe(importId, page)),
    persistBatch: (importId, page, runId) => retry(stages.persistBatch(importId, page, runId)),
    refundUnusedCredits: (importId, because) => retry(stages.refundUnusedCredits(importId, because))
  }
}

export const LocalEngine = {
  layer: Layer.effectDiscard(Effect.gen(function*() {
    const db = yield* Database
    const stages = yield* ImportStages
    const signal = yield* LocalRunSignal
    const concurrency = yield* Config.Int("LOCAL_ENGINE_CONCURRENCY").pipe(Config.withDefault(4))
    const runner = localStageRunner(stages)
    const slots = yield* Semaphore.make(concurrency)
    const accounts = new Map<string, Semaphore.Semaphore>()
    const scheduled = new Set<string>()

    const accountLock = (accountId: string) =>
      Effect.gen(function*() {
        const existing = accounts.get(accountId)
        if (existing) return existing
        const lock = yield* Semaphore.make(1)
        accounts.set(accountId, lock)
        return lock
      })

    const markDone = (run: LocalRun) =>
      db.query((q) =>
        q.updateTable("local_runs").set({ status: "done", updated_at: new Date() }).where("run_id", "=", run.runId).execute()
      )

    /** Runs the import to its end; an infrastructure failure is retried (the run stays pending meanwhile). */
    const execute = (run: LocalRun) =>
      runImport(run.importId, run.runId, () => runner).pipe(
        Effect.provideService(ImportStages, stages),
        Effect.tap(() => markDone(run)),
        Effect.tapError((e) => Effect.logWarning(`local engine: import ${run.importId} interrupted by a failure; retrying`, e)),
        Effect.retry(Schedule.min([Schedule.exponential("1 second"), Schedule.spaced("30 seconds")]))
      )

    const schedule = (run: LocalRun) =>
      Effect.gen(function*() {
        if (scheduled.has(run.runId)) return
        scheduled.add(run.runId)
        const lock = yield* accountLock(run.accountId)
        yield* slots.withPermits(1)(lock.withPermits(1)(execute(run))).pipe(
          Effect.ensuring(Effect.sync(() => scheduled.delete(run.runId))),
          Effect.forkScoped
        )
      })

    // Subscribe before reading the pending runs, so a run enqueued in between is not missed.
    const inbox = yield* PubSub.subscribe(signal)
    yield* PubSub.take(inbox).pipe(Effect.flatMap(schedule), Effect.forever, Effect.forkScoped)
    const pending = yield* db.query((q) =>
      q.selectFrom("local_runs").select(["run_id", "import_id", "account_id"]).where("status", "=", "pending")
        .orderBy("created_at").execute()
    )
    if (pending.length > 0) yield* Effect.logInfo(`local engine: resuming ${pending.length} import(s)`)
    for (const r of pending) yield* schedule({ runId: r.run_id, importId: r.import_id, accountId: r.account_id })
  }))
}
