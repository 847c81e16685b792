/**
 * What the platform stand-in knows about a run and its attempts, and how a run's end maps to
 * the statuses `runs.retrieve` reports (the API's RunStatus, @trigger.dev/core schemas/api.js).
 */
import type { TaskRunError, TaskRunExecutionResult } from "@trigger.dev/core/v3"
import { randomBytes } from "node:crypto"

export type RunStatus =
  | "QUEUED"
  | "EXECUTING"
  | "WAITING"
  | "COMPLETED"
  | "FAILED"
  | "CANCELED"
  | "CRASHED"
  | "SYSTEM_FAILURE"
  | "TIMED_OUT"

export const FINAL_STATUSES: ReadonlySet<RunStatus> = new Set(["COMPLETED", "FAILED", "CANCELED", "CRASHED", "SYSTEM_FAILURE", "TIMED_OUT"])

export const isFinal = (status: RunStatus) => FINAL_STATUSES.has(status)

/** A run that ends so frees its idempotency key (v4 docs, idempotency.mdx: completed and canceled runs keep it). */
export const RELEASES_IDEMPOTENCY_KEY: ReadonlySet<RunStatus> = new Set(["FAILED", "CRASHED", "SYSTEM_FAILURE", "TIMED_OUT"])

export interface Attempt {
  readonly number: number
  /** The worker process that ran it. */
  readonly pid: number | undefined
  /** True when a kept-alive process ran it (processKeepAlive). */
  readonly warmStart: boolean
  readonly startedAt: Date
  finishedAt?: Date
  /** The worker's completion, or what the harness made of the process exiting first. */
  result?: TaskRunExecutionResult
  /** The delay this failed attempt asked for before the next one (catchError's retryAt or the retry backoff), ms, unscaled. */
  requestedRetryDelayMs?: number
  /** When the next attempt was asked for. */
  retryAt?: Date
}

export interface Run {
  readonly id: string
  readonly taskId: string
  /** The payload, decoded. */
  readonly payload: unknown
  readonly payloadPacket: { readonly data: string; readonly dataType: string }
  /** The trigger's `options` as the SDK sent them (idempotencyKey, concurrencyKey, queue, parentRunId, ...). */
  readonly options: Readonly<Record<string, any>>
  status: RunStatus
  readonly attempts: Array<Attempt>
  /** The final completion (the last attempt's, or the cancel/crash the harness recorded). */
  completion?: TaskRunExecutionResult
  /** The output of a COMPLETED run, decoded. */
  output?: unknown
  tags: Array<string>
  metadata: Record<string, unknown>
  /** The run that triggered this one (triggerAndWait or trigger from inside a task). */
  readonly parentId: string | undefined
  readonly rootId: string | undefined
  /** Set by `replay`: the run this one replays. */
  readonly replayOf: string | undefined
  /** The queue the run waits in and the concurrency key it was triggered with. */
  readonly queue: string
  readonly concurrencyKey: string | undefined
  readonly createdAt: Date
  startedAt?: Date
  finishedAt?: Date
}

/** The requested delay of every failed attempt that asked for a retry, in order. */
export const retryDelaysOf = (run: Run): ReadonlyArray<number> =>
  run.attempts.flatMap((a) => (a.requestedRetryDelayMs === undefined ? [] : [a.requestedRetryDelayMs]))

const ALPHANUMERIC = "abcdefghijklmnopqrstuvwxyz0123456789"

/** `run_` + 24 lowercase alphanumerics, like the platform's friendly ids. */
export const newRunId = () => `run_${Array.from(randomBytes(24), (b) => ALPHANUMERIC[b % ALPHANUMERIC.length]).join("")}`

const CRASHED_CODES = new Set([
  "TASK_PROCESS_OOM_KILLED",
  "TASK_PROCESS_MAYBE_OOM_KILLED",
  "TASK_PROCESS_SIGSEGV",
  "DISK_SPACE_EXCEEDED",
  "OUTDATED_SDK_VERSION",
  "HANDLE_ERROR_ERROR",
  "TASK_RUN_CRASHED",
  "TASK_PROCESS_EXITED_WITH_NON_ZERO_CODE"
])
const FAILED_CODES = new Set(["RECURSIVE_WAIT_DEADLOCK", "TASK_INPUT_ERROR", "TASK_OUTPUT_ERROR", "TASK_MIDDLEWARE_ERROR"])

/**
 * The status of a run that ended with `error` and no retry, as the run engine decides it
 * (webapp runStatusFromError): user errors FAILED, process deaths CRASHED, platform faults
 * SYSTEM_FAILURE, cancel CANCELED, maxDuration TIMED_OUT.
 */
export const statusOfFailure = (error: TaskRunError): RunStatus => {
  if (error.type !== "INTERNAL_ERROR") return "FAILED"
  if (error.code === "TASK_RUN_CANCELLED") return "CANCELED"
  if (error.code === "MAX_DURATION_EXCEEDED") return "TIMED_OUT"
  if (FAILED_CODES.has(error.code)) return "FAILED"
  if (CRASHED_CODES.has(error.code)) return "CRASHED"
  return "SYSTEM_FAILURE"
}
