/**
 * The one Effect runtime the tasks run their stages on, created on first use and kept
 * for the life of the worker (never per run): database pool, event store with its
 * inline projections, lead source, stages. Tasks need DATABASE_URL (the worker and the
 * API share PostgreSQL) and the LEAD_SOURCE settings of the API.
 */
import { AbortTaskRunError } from "@trigger.dev/sdk"
import { Cause, type Effect, Exit, Layer, ManagedRuntime } from "effect"
import { inlineProjections } from "../projections/index.ts"
import { StagesLive } from "../src/app.ts"
import { Database } from "../src/db/Database.ts"
import { EventStore } from "../src/eventstore/EventStore.ts"
import { type ImportStages, StageFailed } from "../src/pipeline/ImportStages.ts"

export const TaskServicesLive = StagesLive.pipe(
  Layer.provideMerge(EventStore.layer({ inline: inlineProjections })),
  Layer.provideMerge(Database.layer)
)

type TaskServices = ImportStages | EventStore | Database
let runtime: ManagedRuntime.ManagedRuntime<TaskServices, unknown> | undefined

/** Tests run the task bodies in-process against their own database. */
export const useTaskRuntime = (replacement: ManagedRuntime.ManagedRuntime<TaskServices, unknown>) => {
  runtime = replacement
}

/** A stage failure as the task reports it: thrown (retried by the task's policy) or aborted (not retried). */
export class TransientStageError extends Error {
  readonly retryAfterMs: number | undefined
  constructor(failure: StageFailed) {
    super(`${failure.stage}: ${failure.code}: ${failure.message}`)
    this.name = "TransientStageError"
    this.retryAfterMs = failure.retryAfterMs
  }
}

/** Runs `effect` on the task runtime; permanent stage failures become AbortTaskRunError. */
export const runTask = async <A>(effect: Effect.Effect<A, StageFailed, TaskServices>): Promise<A> => {
  runtime ??= ManagedRuntime.make(TaskServicesLive)
  const exit = await runtime.runPromiseExit(effect)
  if (Exit.isSuccess(exit)) return exit.value
  const failure = exit.cause.reasons.find((r) => r._tag === "Fail")
  const e = failure?._tag === "Fail" ? failure.error : undefined
  if (e instanceof StageFailed) {
    throw e.kind === "permanent" ? new AbortTaskRunError(`${e.stage}: ${e.code}: ${e.message}`) : new TransientStageError(e)
  }
  throw Cause.squash(exit.cause)
}

/**
 * Honour a provider's Retry-After: retry no sooner than it asked, nor sooner than the
 * backoff would (as the local engine does); no retry left (`retryAt` unset) stays so.
 */
export const retryAfterHint = ({ error, retryAt }: { readonly error: unknown; readonly retryAt?: Date | undefined }) =>
  retryAt !== undefined && error instanceof TransientStageError && error.retryAfterMs !== undefined
    ? { retryAt: new Date(Math.max(Date.now() + error.retryAfterMs, retryAt.getTime())) }
    : undefined

