/**
 * The one Effect runtime the tasks run their stages on, built on first use and kept for
 * the life of the worker process (never per run): the stages, the event store with its
 * inline projections and a small database pool — nothing of the HTTP service
 * (src/pipeline/layers.ts).
 *
 * A worker without DATABASE_URL or LEAD_SOURCE, or on a database whose schema is behind,
 * fails loud: the attempt aborts with what to set, and is not retried. A start that failed
 * for a passing reason (the database away) is retried, with the runtime built again.
 */
import { AbortTaskRunError } from "@trigger.dev/sdk"
import { Cause, ConfigProvider, type Effect, Exit, Layer, ManagedRuntime } from "effect"
import { WorkerServicesLive } from "../src/pipeline/layers.ts"
import { StageFailed } from "../src/pipeline/StageFailed.ts"

type TaskServices = ManagedRuntime.ManagedRuntime.Services<ReturnType<typeof makeRuntime>>
// The environment is read when the runtime is built (again after a failed start).
const makeRuntime = () => ManagedRuntime.make(WorkerServicesLive.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv()))))

let runtime: ManagedRuntime.ManagedRuntime<TaskServices, unknown> | undefined

/** Tests run the task bodies in-process against their own database (undefined: build it from the environment). */
export const useTaskRuntime = (replacement: ManagedRuntime.ManagedRuntime<TaskServices, unknown> | undefined) => {
  runtime = replacement
}

/** Start-up failures no retry can heal: the worker's configuration or the schema must change first. */
const MISCONFIGURED = new Set(["ConfigError", "SchemaBehind"])

/** The runtime, built (or rebuilt after a failed start) and ready. */
const ready = async () => {
  const current = runtime ??= makeRuntime()
  try {
    await current.context()
    return current
  } catch (error) {
    if (runtime === current) runtime = undefined
    await current.dispose().catch(() => undefined)
    const failure = error as { _tag?: unknown; message?: unknown; cause?: { message?: unknown } }
    // A ConfigError's own message wraps its source's; the source's is the one written for operators.
    const message = String(failure?._tag === "ConfigError" ? failure.cause?.message ?? failure.message : failure?.message ?? error)
    throw typeof failure?._tag === "string" && MISCONFIGURED.has(failure._tag)
      ? new AbortTaskRunError(`this task worker is misconfigured: ${message}`)
      : new Error(`this task worker could not start (retried): ${message}`)
  }
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
  const exit = await (await ready()).runPromiseExit(effect)
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
