/**
 * Hands an accepted import to the engine that runs its pipeline and returns the run id.
 *
 * `local` (default) runs the pipeline in this process; `trigger` triggers the
 * `sales-nav-import` task on Trigger.dev. Both are idempotent per import: enqueueing
 * the same import twice (a re-dispatched outbox entry) yields the same run.
 * Chosen by TASK_ENGINE.
 */
import { Context, Schema } from "effect"
import type { Effect } from "effect"

/** The payload of the sales-nav-import task: ids only, the data lives in Postgres. */
export interface SalesNavImportPayload {
  readonly importId: string
}

export interface EnqueueRequest extends SalesNavImportPayload {
  readonly userId: string
  /** Our LinkedIn account id: the concurrency key that paces one account's searches. */
  readonly accountId: string
}

export class EnqueueError extends Schema.TaggedError<EnqueueError>()("EnqueueError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

export type Engine = "local" | "trigger"

export class TaskQueue extends Context.Service<TaskQueue, {
  readonly engine: Engine
  enqueue(request: EnqueueRequest): Effect.Effect<{ readonly runId: string }, EnqueueError>
}>()("app/imports/TaskQueue") {}

/** Run ids look like Trigger.dev's: `run_` + 16-40 alphanumerics (the contract's RunId pattern). */
export const RUN_ID_PATTERN = /^run_[A-Za-z0-9]{16,40}$/
