/**
 * The `trigger` engine of the TaskQueue: triggers the `sales-nav-import` task on
 * Trigger.dev through the SDK's HTTP API, cancels runs and reads their status.
 *
 * One enqueue is one `POST /api/v1/tasks/sales-nav-import/trigger`. Its idempotency
 * key is derived from the import id alone, so a re-dispatched enqueue (the outbox
 * after a crash) gets the run the first one started instead of a second run.
 * The SDK client is a `TriggerClient` built once with explicit credentials: nothing
 * is written to the SDK's process-wide configuration.
 */
import { idempotencyKeys, type RetryOptions, TriggerClient } from "@trigger.dev/sdk"
import { Config, ConfigProvider, Duration, Effect, Layer, Option, Redacted } from "effect"
// Types only: the task's code never enters the API's import graph.
import type { salesNavImport } from "../../trigger/sales-nav-import.ts"
import type { SalesNavImportPayload } from "../pipeline/payloads.ts"
import { EngineUnavailable, EnqueueError, type EnqueueRequest, type RunState, TaskQueue } from "./TaskQueue.ts"

/** The id of the task this engine triggers (trigger/ declares it). */
export const TASK_ID = "sales-nav-import"

/** Trigger.dev cloud, the SDK's own default. */
export const DEFAULT_API_URL = "https://api.trigger.dev"

/**
 * How long Trigger.dev remembers an import's key (also the server's default): far longer than any
 * outbox re-dispatch. A run that fails releases its key early, so a later enqueue starts a new run.
 */
export const IDEMPOTENCY_KEY_TTL = "30d"

/**
 * The SDK retries 5xx, 408, 409, 429 and connection errors itself (default 5 attempts, up to 30 s
 * apart). Ours: 3 attempts, waiting 0.5-1 s then 1-2 s; the outbox retries the rest later.
 */
export const DEFAULT_RETRY: RetryOptions = { maxAttempts: 3, factor: 2, minTimeoutInMs: 500, maxTimeoutInMs: 5_000, randomize: true }

export interface TriggerTaskQueueOptions {
  /** A Trigger.dev secret key (`tr_dev_...`, `tr_prod_...`) of the environment to run in. */
  readonly secretKey: Redacted.Redacted<string> | string
  /** The API's base URL; default {@link DEFAULT_API_URL}. */
  readonly apiUrl?: string
  /** The SDK's request retry; default {@link DEFAULT_RETRY}. */
  readonly retry?: RetryOptions
  /**
   * Upper bound on one enqueue, retries included (the SDK has none); default 30 seconds. The SDK
   * cannot cancel its request, so it may still land: a re-sent enqueue then gets that run.
   */
  readonly timeout?: Duration.Input
}

/**
 * The key Trigger.dev deduplicates triggers on: sha256 of `sales-nav-import:<importId>`, global scope.
 * Global, so the same import gives the same key even when enqueued from inside another task's run
 * (the default `run` scope would mix that run's id in). The SDK also remembers each key it creates
 * in a process-wide map (to send the original key along); outside a task nothing clears it, about
 * 200 bytes an import.
 */
export const idempotencyKeyFor = (importId: string): Promise<string> =>
  idempotencyKeys.create(`${TASK_ID}:${importId}`, { scope: "global" })

/** Tags shown and searchable in the dashboard (at most 10, each under 128 characters). */
export const tagsFor = (request: EnqueueRequest): Array<string> => [
  `import:${request.importId}`,
  `user:${request.userId}`,
  `account:${request.accountId}`
]

/** A TaskQueue on its own SDK client for `options`. */
const make = (options: TriggerTaskQueueOptions): TaskQueue["Service"] => {
  const client = new TriggerClient({
    accessToken: Redacted.isRedacted(options.secretKey) ? Redacted.value(options.secretKey) : options.secretKey,
    baseURL: options.apiUrl ?? DEFAULT_API_URL,
    requestOptions: { retry: options.retry ?? DEFAULT_RETRY }
  })
  const timeout = Duration.fromInputUnsafe(options.timeout ?? "30 seconds")

  const enqueue = Effect.fn("TaskQueue.enqueue")(function*(request: EnqueueRequest) {
    const payload: SalesNavImportPayload = { importId: request.importId }
    const handle = yield* Effect.tryPromise({
      try: async () =>
        client.tasks.trigger<typeof salesNavImport>(TASK_ID, payload, {
          idempotencyKey: await idempotencyKeyFor(request.importId),
          idempotencyKeyTTL: IDEMPOTENCY_KEY_TTL,
          tags: tagsFor(request)
        }),
      catch: (cause) =>
        new EnqueueError({
          message: `Trigger.dev did not start ${TASK_ID} for import ${request.importId}: ${describeCause(cause)}`,
          permanent: isRefusal(cause),
          cause
        })
    }).pipe(
      Effect.timeoutOrElse({
        duration: timeout,
        orElse: () =>
          Effect.fail(new EnqueueError({ message: `Trigger.dev did not answer within ${Duration.format(timeout)} for import ${request.importId}` }))
      })
    )
    return { runId: handle.id }
  })

  /** Asks Trigger.dev, within the timeout, and reports what it could not do as EngineUnavailable. */
  const ask = <A>(what: string, f: () => Promise<A>) =>
    Effect.tryPromise({
      try: f,
      catch: (cause) => new EngineUnavailable({ message: `Trigger.dev: ${what}: ${describeCause(cause)}`, cause })
    }).pipe(Effect.timeoutOrElse({
      duration: timeout,
      orElse: () => Effect.fail(new EngineUnavailable({ message: `Trigger.dev: ${what}: no answer within ${Duration.format(timeout)}` }))
    }))

  // Cancels the run and every child run in progress (the platform does both).
  const cancel = (runId: string) => Effect.asVoid(ask(`cancel ${runId}`, () => client.runs.cancel(runId)))

  const runState = (runId: string) =>
    Effect.map(ask(`retrieve ${runId}`, () => client.runs.retrieve(runId)), (run): RunState =>
      FINAL_STATUSES.has(run.status)
        ? { _tag: "Gone", status: run.status, canceled: run.status === "CANCELED" }
        : { _tag: "Active" })

  return TaskQueue.of({ engine: "trigger", enqueue, cancel, runState })
}

/** Run statuses after which the run does nothing more (docs: runs.mdx "Final states"). */
const FINAL_STATUSES = new Set(["COMPLETED", "CANCELED", "FAILED", "CRASHED", "SYSTEM_FAILURE", "EXPIRED", "TIMED_OUT"])

/** A 4xx other than 408/409/429: Trigger.dev refused the request itself, so sending it again cannot help. */
const isRefusal = (cause: unknown): boolean => {
  const status = (cause as { status?: unknown })?.status
  return typeof status === "number" && status >= 400 && status < 500 && ![408, 409, 429].includes(status)
}

const describeCause = (cause: unknown): string => {
  const e = cause as { name?: unknown; status?: unknown; message?: unknown }
  const status = typeof e?.status === "number" ? `${e.status} ` : ""
  const name = typeof e?.name === "string" ? `${e.name}: ` : ""
  return `${name}${status}${typeof e?.message === "string" ? e.message : String(cause)}`
}

/** TRIGGER_SECRET_KEY (required) and TRIGGER_API_URL (default {@link DEFAULT_API_URL}). */
const config = Effect.gen(function*() {
  const secretKey = yield* Config.option(Config.Redacted("TRIGGER_SECRET_KEY"))
  if (Option.isNone(secretKey) || Redacted.value(secretKey.value).trim() === "") {
    return yield* Effect.fail(
      new Config.ConfigError(
        new ConfigProvider.SourceError({
          message: "TRIGGER_SECRET_KEY is required for TASK_ENGINE=trigger: set it to the secret key " +
            "(tr_dev_... / tr_prod_...) of the Trigger.dev environment that runs sales-nav-import"
        })
      )
    )
  }
  const apiUrl = yield* Config.String("TRIGGER_API_URL").pipe(Config.withDefault(""))
  return { secretKey: secretKey.value, apiUrl: apiUrl === "" ? DEFAULT_API_URL : apiUrl } satisfies TriggerTaskQueueOptions
})

export const TriggerTaskQueue = {
  /** A TaskQueue that triggers `sales-nav-import` with these credentials. */
  make,
  /** {@link make} as a layer. */
  layerWith: (options: TriggerTaskQueueOptions): Layer.Layer<TaskQueue> => Layer.succeed(TaskQueue, make(options)),
  /** Reads TRIGGER_SECRET_KEY (required) and TRIGGER_API_URL from Config; fails with a ConfigError naming the key. */
  layer: Layer.effect(TaskQueue, Effect.map(config, make))
}
