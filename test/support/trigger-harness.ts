/**
 * Runs the trigger/ task bodies in-process with the real SDK, no platform: a stand-in
 * for the Trigger.dev API (one run per idempotency key, released when the run fails)
 * records every trigger, and a RuntimeManager answers `triggerAndWait` by running the
 * child's `fns.run` in its own mock task context. Retries and hooks are not exercised.
 *
 * SDK internals used (verified with @trigger.dev/sdk and @trigger.dev/core 4.8.3):
 *  - "@trigger.dev/core/v3": resourceCatalog, stringifyIO, parsePacket, parseError
 *  - "@trigger.dev/core/v3/workers": StandardResourceCatalog, type RuntimeManager
 *  - "@trigger.dev/core/v3/test": runInMockTaskContext (it installs its managers as process
 *    globals and removes them when it returns, so a nested child context would leave the
 *    parent without any: `execute` puts the parent's back afterwards)
 *  - "@trigger.dev/sdk": auth.withAuth scopes the API client to the stub
 */
import { auth } from "@trigger.dev/sdk"
import { parseError, parsePacket, resourceCatalog, stringifyIO, type TaskRunExecutionResult } from "@trigger.dev/core/v3"
import { runInMockTaskContext } from "@trigger.dev/core/v3/test"
import { type RuntimeManager, StandardResourceCatalog } from "@trigger.dev/core/v3/workers"
import { ConfigProvider, Context, Effect, Layer, ManagedRuntime } from "effect"
import { inlineProjections } from "../../projections/index.ts"
import { StagesLive } from "../../src/pipeline/layers.ts"
import { Database } from "../../src/db/Database.ts"
import { EventStore } from "../../src/eventstore/EventStore.ts"
import { newRunId, type Received, stubApi } from "./trigger-stub.ts"

/** One trigger the API stub received and the run it answered with. */
export interface TriggerRecord {
  readonly runId: string
  readonly taskId: string
  readonly payload: unknown
  /** The request's `options` as sent (idempotencyKey, idempotencyKeyOptions, concurrencyKey, parentRunId, ...). */
  readonly options: Record<string, any>
  /** How the run ended, once it ran. */
  readonly completion: TaskRunExecutionResult | undefined
}

interface Run {
  readonly runId: string
  readonly taskId: string
  readonly options: Record<string, any>
  readonly packet: { readonly data: string; readonly dataType: string }
  completion?: TaskRunExecutionResult
}

/** The task files, children first, each registered under its own file context. */
const TASK_FILES = ["fetch-page", "dedupe", "persist-batch", "refund-unused-credits", "sales-nav-import"] as const
let loaded: Promise<void> | undefined

/** Installs a resource catalog, then imports the task modules so their `task()` calls register. */
const loadTasks = () =>
  loaded ??= (async () => {
    resourceCatalog.setGlobalResourceCatalog(new StandardResourceCatalog())
    for (const file of TASK_FILES) {
      resourceCatalog.setCurrentFileContext(`trigger/${file}.ts`, "trigger")
      await import(`../../trigger/${file}.ts`)
    }
    resourceCatalog.clearCurrentFileContext()
  })()

/** The process globals runInMockTaskContext replaces and removes. */
const CONTEXT_GLOBALS = ["locals", "lifecycle-hooks", "runtime", "run-metadata", "input-streams", "realtime-streams", "session-streams", "task-context"]
const sdkGlobals = (): Record<string, unknown> =>
  ((globalThis as any)[Symbol.for("dev.trigger.ts.api")] ??= {})

const saveContext = () => {
  const saved = Object.fromEntries(CONTEXT_GLOBALS.map((k) => [k, sdkGlobals()[k]]))
  return () => {
    for (const [k, v] of Object.entries(saved)) v === undefined ? delete sdkGlobals()[k] : (sdkGlobals()[k] = v)
  }
}

const make = Effect.gen(function*() {
  yield* Effect.promise(loadTasks)
  const runs = new Map<string, Run>()
  const keys = new Map<string, string>()

  /** The platform's side of `POST /api/v1/tasks/{id}/trigger`. */
  const reply = (request: Received) => {
    const taskId = /^\/api\/v1\/tasks\/([^/]+)\/trigger$/.exec(request.url)?.[1]
    if (request.method !== "POST" || taskId === undefined) return { status: 404, body: { error: "Not found" } }
    const options: Record<string, any> = request.body?.options ?? {}
    const key: string | undefined = options.idempotencyKey
    const cached = key === undefined ? undefined : keys.get(key)
    if (cached !== undefined) return { status: 200, body: { id: cached, isCached: true } }
    const packet = { data: String(request.body?.payload), dataType: String(options.payloadType ?? "application/json") }
    const runId = newRunId()
    const run: Run = { runId, taskId, options, packet }
    runs.set(runId, run)
    if (key !== undefined) keys.set(key, runId)
    return { status: 200, body: { id: runId, isCached: false } }
  }
  const stub = yield* stubApi(reply)

  const runtimeManager: RuntimeManager = {
    disable: () => {},
    waitForTask: ({ id }) => execute(id),
    waitForBatch: () => Promise.reject(new Error("trigger-harness: batches are not supported")),
    waitForWaitpoint: () => Promise.reject(new Error("trigger-harness: waitpoints are not supported"))
  }

  /**
   * Runs triggered run `runId` (attempt `attempt`) in-process and returns its completion. A run
   * that already completed answers with its completion, as the platform resumes a waiting parent.
   */
  const execute = async (runId: string, attempt = 1): Promise<TaskRunExecutionResult> => {
    const run = runs.get(runId)
    if (run === undefined) throw new Error(`trigger-harness: no run ${runId}`)
    if (run.completion !== undefined && attempt === 1) return run.completion
    const task = resourceCatalog.getTask(run.taskId)
    if (task === undefined) throw new Error(`trigger-harness: task ${run.taskId} is not registered`)
    const payload = await parsePacket(run.packet)
    const restore = saveContext()
    try {
      run.completion = await runInMockTaskContext(
        ({ ctx }) =>
          auth.withAuth({ baseURL: stub.url, accessToken: "tr_dev_harness" }, async (): Promise<TaskRunExecutionResult> => {
            try {
              const output = await stringifyIO(await task.fns.run(payload, { ctx, signal: new AbortController().signal }))
              return { ok: true, id: runId, taskIdentifier: run.taskId, output: output.data, outputType: output.dataType }
            } catch (error) {
              return { ok: false, id: runId, taskIdentifier: run.taskId, error: parseError(error) }
            }
          }),
        { ctx: { run: { id: runId }, task: { id: run.taskId }, attempt: { number: attempt } }, runtimeManager }
      )
    } finally {
      restore()
    }
    // A failed run releases its idempotency key (v4): the next trigger with it starts a new run.
    if (!run.completion.ok && run.options.idempotencyKey !== undefined) keys.delete(run.options.idempotencyKey)
    return run.completion
  }

  // Every trigger, in the order received, whether it started a run or found a cached one.
  const received = () =>
    Promise.all(stub.replies.flatMap((r, i) => {
      const run = r !== "no-answer" && r.status === 200 ? runs.get((r.body as { id: string }).id) : undefined
      const options = stub.received[i]?.body?.options ?? {}
      return run === undefined ? [] : [
        parsePacket(run.packet).then((payload): TriggerRecord => ({ runId: run.runId, taskId: run.taskId, payload, options, completion: run.completion }))
      ]
    }))

  return {
    /** The stub's base URL: TRIGGER_API_URL for the API's own enqueue. */
    url: stub.url,
    /** Every trigger received so far (the API's and the tasks'), in order, payloads decoded. */
    triggers: (): Promise<ReadonlyArray<TriggerRecord>> => received(),
    /** Runs (or re-runs, with `attempt` > 1) a run that was triggered, children in-process. */
    execute
  }
})

export class TriggerHarness extends Context.Service<TriggerHarness, Effect.Success<typeof make>>()("test/TriggerHarness") {
  /** The harness with its API stub on 127.0.0.1, closed with the scope. */
  static readonly make = make
}

/**
 * The task runtime over `db` (trigger/runtime.ts TaskServicesLive with the test's Database),
 * its lead source configured by `env` (FAKE_*, LEAD_SOURCE). Install it with `useTaskRuntime`.
 */
export const taskRuntimeOver = (db: Database["Service"], env: Record<string, string> = {}) =>
  ManagedRuntime.make(
    StagesLive.pipe(
      Layer.provideMerge(EventStore.layer({ inline: inlineProjections })),
      Layer.provideMerge(Layer.succeed(Database, db)),
      Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ FAKE_PAGE_LATENCY_MS: "0", ...env })))
    )
  )
