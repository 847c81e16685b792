/**
 * The platform's run engine in miniature, driving real worker processes: runs are created by
 * triggers, queued (queue concurrency per key), executed one attempt at a time in a worker
 * from the pool, retried when the attempt's completion asks for it (after the requested delay,
 * optionally scaled), resumed when a child they wait on ends (RESOLVE_WAITPOINT), and ended
 * with the status the engine would give them. Cancel, crash and replay act as an operator would
 * from the dashboard. Everything is kept in memory for the test to inspect.
 *
 * @trigger.dev/core/v3 helpers used as the engine uses them: parsePacket (payload/output),
 * applyMetadataOperations (metadata flushes), calculateNextRetryDelay, shouldLookupRetrySettings
 * and isOOMRunError (retrying attempts whose process died, per the task's retry settings).
 */
import {
  applyMetadataOperations,
  calculateNextRetryDelay,
  type CompletedWaitpoint,
  isOOMRunError,
  parsePacket,
  shouldLookupRetrySettings,
  type TaskRunError,
  type TaskRunExecutionResult,
  type WorkerManifest
} from "@trigger.dev/core/v3"
import { QueueSlots } from "./concurrency.ts"
import { executionOf, workerEnv } from "./execution.ts"
import { IdempotencyKeys } from "./idempotency.ts"
import type { CliInternals, TaskRunProcess } from "./internals.ts"
import { type Attempt, isFinal, newRunId, RELEASES_IDEMPOTENCY_KEY, type Run, type RunStatus, statusOfFailure } from "./runs.ts"
import type { WorkerPool } from "./worker-pool.ts"

export interface ControllerOptions {
  readonly manifest: WorkerManifest
  readonly internals: CliInternals
  readonly pool: WorkerPool
  readonly apiUrl: string
  readonly secretKey: string
  /** The test's env for a worker running attempt `attempt` of `run`. */
  readonly env: (run: Readonly<Run>, attempt: number) => Record<string, string>
  /** Whether a new run starts by itself (else it waits for `start`). */
  readonly autoRun: (run: Readonly<Run>) => boolean
  /** Retry delays are waited `delay * timeScale` (recorded unscaled). */
  readonly timeScale: number
  /** Honour queues' concurrencyLimit (per concurrency key). */
  readonly concurrency: boolean
  readonly log: (line: string) => void
}

/** A runaway guard: a catchError that always asks for a retry would otherwise loop forever. */
const MAX_ATTEMPTS = 100

type Work =
  | { readonly kind: "attempt"; readonly runId: string }
  | { readonly kind: "resume"; readonly runId: string; readonly waitpoint: CompletedWaitpoint }

/** Per-run state the test does not see. */
interface Live {
  process?: TaskRunProcess
  /** Settles when the attempt in progress has been handled. */
  attempt?: Promise<void>
  timer?: NodeJS.Timeout
  /** Parents waiting on this run (triggerAndWait). */
  readonly waiters: Set<string>
  cancelRequested?: boolean
  crashRequested?: boolean
}

const cancelled = (id: string): TaskRunExecutionResult => ({ ok: false, id, error: { type: "INTERNAL_ERROR", code: "TASK_RUN_CANCELLED" } })

const toTags = (tags: unknown): Array<string> => (Array.isArray(tags) ? tags.map(String) : typeof tags === "string" ? [tags] : [])

export class RunController {
  readonly runs = new Map<string, Run>()
  readonly #live = new Map<string, Live>()
  readonly #pending: Array<Work> = []
  readonly #keys = new IdempotencyKeys()
  readonly #slots: QueueSlots
  readonly #tasks: ReadonlyMap<string, WorkerManifest["tasks"][number]>
  readonly #listeners = new Set<() => void>()
  readonly #o: ControllerOptions
  #closed = false

  constructor(options: ControllerOptions) {
    this.#o = options
    this.#tasks = new Map(options.manifest.tasks.map((t) => [t.id, t]))
    const queueLimits = options.manifest.queues?.flatMap((q) => (q.concurrencyLimit == null ? [] : [[q.name, q.concurrencyLimit] as const])) ?? []
    // A task's `concurrency: { perKey }` (SDK 4.8) bounds its own queue, task/<id>, per concurrency key.
    const taskLimits = options.manifest.tasks.flatMap((t) => {
      const perKey = (t as { concurrency?: { inline?: { perKey?: number } } }).concurrency?.inline?.perKey
      return perKey === undefined ? [] : [[`task/${t.id}`, perKey] as const]
    })
    this.#slots = new QueueSlots(new Map(options.concurrency ? [...queueLimits, ...taskLimits] : []))
  }

  /** `POST /api/v1/tasks/{taskId}/trigger`: a new run, or the run holding the idempotency key. */
  async trigger(taskId: string, body: { payload?: unknown; options?: Record<string, any> }, replayOf?: string) {
    const task = this.#tasks.get(taskId)
    if (task === undefined) return undefined
    const options = body.options ?? {}
    const data = typeof body.payload === "string" ? body.payload : body.payload === undefined ? "" : JSON.stringify(body.payload)
    const payloadPacket = { data, dataType: String(options.payloadType ?? "application/json") }
    const payload = await parsePacket(payloadPacket)
    const key: string | undefined = options.idempotencyKey
    const cached = key === undefined ? undefined : this.#keys.find(taskId, key)
    if (cached !== undefined) {
      this.#waitFor(cached, options)
      return { id: cached, isCached: true }
    }
    const parent = typeof options.parentRunId === "string" ? this.runs.get(options.parentRunId) : undefined
    // As the platform refuses it (TriggerTaskService, a ServiceValidationError): no new child for a
    // parent that has ended — a parent canceled while its process still runs starts no next stage.
    if (parent !== undefined && isFinal(parent.status)) {
      return { refused: `Cannot trigger ${taskId} as the parent run has a status of ${parent.status}` }
    }
    const run: Run = {
      id: newRunId(),
      taskId,
      payload,
      payloadPacket,
      options,
      status: "QUEUED",
      attempts: [],
      tags: toTags(options.tags),
      metadata: typeof options.metadata === "object" && options.metadata !== null ? { ...options.metadata } : {},
      parentId: parent?.id,
      rootId: parent === undefined ? undefined : parent.rootId ?? parent.id,
      replayOf,
      queue: options.queue?.name ?? task.queue?.name ?? `task/${taskId}`,
      concurrencyKey: typeof options.concurrencyKey === "string" ? options.concurrencyKey : undefined,
      createdAt: new Date()
    }
    this.runs.set(run.id, run)
    this.#live.set(run.id, { waiters: new Set() })
    if (key !== undefined) this.#keys.hold(taskId, key, run.id, options.idempotencyKeyTTL)
    this.#waitFor(run.id, options)
    if (this.#o.autoRun(run)) this.#enqueue({ kind: "attempt", runId: run.id })
    this.#notify()
    return { id: run.id, isCached: false }
  }

  /** Starts a queued run that did not start by itself (autoRun off). */
  start(runId: string) {
    const run = this.#run(runId)
    const queued = this.#pending.some((w) => w.runId === runId)
    if (run.status === "QUEUED" && run.attempts.length === 0 && !queued) this.#enqueue({ kind: "attempt", runId })
  }

  /** A brand-new run of the same task and payload, attached to no parent (the dashboard's Replay). */
  async replay(runId: string): Promise<string> {
    const original = this.#run(runId)
    const { tags, queue, concurrencyKey, maxAttempts, maxDuration, machine, metadata, payloadType } = original.options
    const options = Object.fromEntries(Object.entries({ tags, queue, concurrencyKey, maxAttempts, maxDuration, machine, metadata, payloadType }).filter(([, v]) => v !== undefined))
    const replayed = await this.trigger(original.taskId, { payload: original.payloadPacket.data, options }, original.id)
    if (replayed === undefined || "refused" in replayed) throw new Error(`replay of ${runId}: ${replayed?.refused ?? "no such task"}`)
    return replayed.id
  }

  /**
   * Cancels a run as an operator would: it ends CANCELED at once (no retry; it keeps its
   * idempotency key), then an executing attempt gets CANCEL (its onCancel hooks run, then the
   * process is terminated) while a run waiting on a child, checkpointed in the cloud, has its
   * process killed without hooks; its unfinished children are cancelled the same way.
   */
  async cancel(runId: string): Promise<void> {
    const run = this.#run(runId)
    if (isFinal(run.status)) return
    const live = this.#live.get(runId)!
    const executing = run.status === "EXECUTING"
    live.cancelRequested = true
    this.#dropWork(runId)
    this.#finish(run, "CANCELED", cancelled(runId))
    const stop = async () => {
      if (live.process !== undefined) await (executing ? live.process.cancel() : live.process.kill("SIGKILL"))
      await live.attempt
    }
    const children = [...this.runs.values()].filter((r) => r.parentId === runId && !isFinal(r.status))
    await Promise.all([stop(), ...children.map((child) => this.cancel(child.id))])
  }

  /** SIGKILLs the run's worker (an OOM, a crash): CRASHED, no retry. Children go on. */
  async crash(runId: string): Promise<void> {
    const run = this.#run(runId)
    if (isFinal(run.status)) return
    const live = this.#live.get(runId)!
    live.crashRequested = true
    this.#dropWork(runId)
    const pid = live.process?.pid
    if (pid !== undefined) {
      try {
        process.kill(pid, "SIGKILL") // from outside, as the kernel would: TaskRunProcess sees an unexpected exit
      } catch {
        // already gone
      }
      await live.attempt
    }
    this.#finish(run, "CRASHED", {
      ok: false,
      id: runId,
      error: { type: "INTERNAL_ERROR", code: "TASK_RUN_CRASHED", message: "crashed by the harness while no attempt ran" }
    })
  }

  /** `PUT /api/v1/runs/{id}/metadata` (and a completion's flushedMetadata): replace and/or apply operations. */
  updateMetadata(runId: string, body: { metadata?: Record<string, unknown>; operations?: Array<any>; parentOperations?: Array<any>; rootOperations?: Array<any> }) {
    const run = this.runs.get(runId)
    if (run === undefined) return undefined
    if (body.metadata !== undefined) run.metadata = { ...body.metadata }
    const apply = (target: Run | undefined, operations: Array<any> | undefined) => {
      if (target !== undefined && operations !== undefined && operations.length > 0) {
        target.metadata = applyMetadataOperations(target.metadata, operations).newMetadata
      }
    }
    apply(run, body.operations)
    apply(this.runs.get(run.parentId ?? run.id), body.parentOperations)
    apply(this.runs.get(run.rootId ?? run.id), body.rootOperations)
    this.#notify()
    return run.metadata
  }

  addTags(runId: string, tags: unknown) {
    const run = this.runs.get(runId)
    if (run !== undefined) run.tags = [...new Set([...run.tags, ...toTags(tags)])]
    return run
  }

  /** `idempotencyKeys.reset(task, key)`. */
  resetIdempotencyKey(taskId: string, key: string) {
    this.#keys.release(taskId, key)
  }

  /** Calls `listener` after every change of any run; returns the unsubscribe. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Stops timers and kills every worker. */
  async close(): Promise<void> {
    this.#closed = true
    this.#pending.length = 0
    for (const live of this.#live.values()) clearTimeout(live.timer)
    await this.#o.pool.close()
  }

  #run(runId: string): Run {
    const run = this.runs.get(runId)
    if (run === undefined) throw new Error(`trigger-runtime: no run ${runId}`)
    return run
  }

  #notify() {
    for (const listener of [...this.#listeners]) listener()
  }

  /** A trigger with resumeParentOnCompletion: the parent waits (and frees its queue slot) until `childId` ends. */
  #waitFor(childId: string, options: Record<string, any>) {
    const parent = options.resumeParentOnCompletion === true ? this.runs.get(options.parentRunId) : undefined
    if (parent === undefined || isFinal(parent.status)) return
    parent.status = "WAITING"
    this.#slots.release(parent.id, parent.queue, parent.concurrencyKey)
    const child = this.#run(childId)
    if (isFinal(child.status)) this.#enqueue({ kind: "resume", runId: parent.id, waitpoint: this.#waitpointOf(child) })
    else this.#live.get(childId)!.waiters.add(parent.id)
    this.#pump()
  }

  #enqueue(work: Work) {
    if (this.#closed) return
    this.#pending.push(work)
    this.#pump()
  }

  #dropWork(runId: string) {
    const live = this.#live.get(runId)!
    clearTimeout(live.timer)
    live.timer = undefined
    for (let i = this.#pending.length - 1; i >= 0; i--) if (this.#pending[i]!.runId === runId) this.#pending.splice(i, 1)
  }

  /** Starts, in order, every pending attempt or resume whose queue slot is free. */
  #pump() {
    for (let i = 0; i < this.#pending.length;) {
      const work = this.#pending[i]!
      const run = this.#run(work.runId)
      if (isFinal(run.status)) {
        this.#pending.splice(i, 1)
      } else if (!this.#slots.tryTake(run.id, run.queue, run.concurrencyKey)) {
        i++
      } else {
        this.#pending.splice(i, 1)
        if (work.kind === "attempt") {
          const live = this.#live.get(run.id)!
          live.attempt = this.#attempt(run).catch((error) => {
            this.#o.log(`[trigger-runtime] attempt of ${run.id} failed in the harness: ${error instanceof Error ? error.stack : error}`)
            this.#finish(run, "SYSTEM_FAILURE", { ok: false, id: run.id, error: { type: "INTERNAL_ERROR", code: "TASK_EXECUTION_FAILED", message: String(error) } })
          })
        } else {
          this.#resume(run, work.waitpoint)
        }
      }
    }
  }

  async #attempt(run: Run): Promise<void> {
    const live = this.#live.get(run.id)!
    const task = this.#tasks.get(run.taskId)!
    const number = run.attempts.length + 1
    const env = workerEnv(this.#o.apiUrl, this.#o.secretKey, this.#o.env(run, number))
    const { process, warm } = this.#o.pool.acquire(env)
    const attempt: Attempt = { number, pid: process.pid, warmStart: warm, startedAt: new Date() }
    run.attempts.push(attempt)
    run.status = "EXECUTING"
    run.startedAt ??= attempt.startedAt
    live.process = process
    this.#notify()
    let result: TaskRunExecutionResult
    let exited = false
    try {
      const execution = executionOf(run, number, task, attempt.startedAt)
      result = await process.execute({ payload: { execution, traceContext: {}, metrics: [] }, messageId: run.id, env }, warm)
    } catch (error) {
      exited = true // the process ended before completing: cancel, crash, max duration, exit
      result = { ok: false, id: run.id, error: this.#o.internals.TaskRunProcess.parseExecuteError(error) }
    }
    live.process = undefined
    attempt.finishedAt = new Date()
    attempt.result = result
    // As the run controller: a completed attempt returns its process (kept alive, or flushed and
    // terminated); a process that died is not flushed.
    if (exited) void process.kill("SIGKILL")
    else await this.#o.pool.release(process)
    await this.#applyFlushedMetadata(run, result)
    const output = result.ok ? await parsePacket({ data: result.output, dataType: result.outputType }) : undefined
    this.#settle(run, attempt, result, exited, output)
  }

  /** What the engine does with an attempt's completion. */
  #settle(run: Run, attempt: Attempt, result: TaskRunExecutionResult, exited: boolean, output: unknown) {
    const live = this.#live.get(run.id)!
    this.#slots.release(run.id, run.queue, run.concurrencyKey)
    if (isFinal(run.status) || live.cancelRequested) return this.#finish(run, "CANCELED", cancelled(run.id))
    if (live.crashRequested) return this.#finish(run, "CRASHED", result)
    if (result.ok) return this.#finish(run, "COMPLETED", result, output)
    const retry = exited ? this.#retryAfterExit(run, attempt.number, result.error) : result.retry
    if (retry === undefined || attempt.number >= MAX_ATTEMPTS) return this.#finish(run, statusOfFailure(result.error), result)
    attempt.requestedRetryDelayMs = retry.delay
    attempt.retryAt = new Date(retry.timestamp)
    run.status = "QUEUED"
    live.timer = setTimeout(() => {
      live.timer = undefined
      this.#enqueue({ kind: "attempt", runId: run.id })
    }, Math.max(0, retry.timestamp - Date.now()) * this.#o.timeScale)
    this.#notify()
    this.#pump()
  }

  /** A process that died without completing is retried per the task's retry settings, unless it ran out of memory. */
  #retryAfterExit(run: Run, attempt: number, error: TaskRunError) {
    const retry = this.#tasks.get(run.taskId)?.retry
    if (retry === undefined || isOOMRunError(error) || !shouldLookupRetrySettings(error)) return undefined
    const delay = calculateNextRetryDelay({ ...retry, maxAttempts: run.options.maxAttempts ?? retry.maxAttempts }, attempt)
    return delay === undefined ? undefined : { timestamp: Date.now() + delay, delay }
  }

  #finish(run: Run, status: RunStatus, completion: TaskRunExecutionResult, output?: unknown) {
    if (isFinal(run.status)) return
    const live = this.#live.get(run.id)!
    run.status = status
    run.completion = completion
    run.output = output
    run.finishedAt = new Date()
    this.#slots.release(run.id, run.queue, run.concurrencyKey)
    const key: string | undefined = run.options.idempotencyKey
    if (key !== undefined && RELEASES_IDEMPOTENCY_KEY.has(status)) this.#keys.release(run.taskId, key, run.id)
    for (const parentId of live.waiters) {
      this.#enqueue({ kind: "resume", runId: parentId, waitpoint: this.#waitpointOf(run) })
    }
    live.waiters.clear()
    this.#notify()
    this.#pump()
  }

  /** Resumes a parent whose child ended: RESOLVE_WAITPOINT to the parent's process. */
  #resume(parent: Run, waitpoint: CompletedWaitpoint) {
    const process = this.#live.get(parent.id)!.process
    if (process === undefined) return this.#slots.release(parent.id, parent.queue, parent.concurrencyKey)
    parent.status = "EXECUTING"
    process.waitpointCompleted(waitpoint)
    this.#notify()
  }

  /** The RUN waitpoint a finished child completes (SharedRuntimeManager turns it back into the child's result). */
  #waitpointOf(child: Run): CompletedWaitpoint {
    const completion = child.completion!
    return {
      id: `waitpoint_${child.id.slice(4)}`,
      friendlyId: `waitpoint_${child.id.slice(4)}`,
      type: "RUN",
      completedAt: child.finishedAt ?? new Date(),
      completedByTaskRun: { id: child.id, friendlyId: child.id },
      ...(completion.ok
        ? { output: completion.output, outputType: completion.outputType, outputIsError: false }
        : { output: JSON.stringify(completion.error), outputType: "application/json", outputIsError: true })
    }
  }

  async #applyFlushedMetadata(run: Run, result: TaskRunExecutionResult) {
    const packet = result.flushedMetadata
    if (packet?.data === undefined) return
    const flushed = await parsePacket({ data: packet.data, dataType: packet.dataType })
    if (typeof flushed === "object" && flushed !== null) this.updateMetadata(run.id, flushed)
  }
}
