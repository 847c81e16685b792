/**
 * The engine that runs imports, as the API sees it: hand it an accepted import (enqueue,
 * returning the run id), stop a run (cancel), and ask whether a run still exists (for the
 * reconciler).
 *
 * `local` (default) runs the pipeline in this process; `trigger` triggers the
 * `sales-nav-import` task on Trigger.dev. Both are idempotent per import: enqueueing
 * the same import twice (a re-dispatched outbox entry) yields the same run.
 * Chosen by TASK_ENGINE.
 */
import { Context, Schema } from "effect"
import type { Effect } from "effect"
import type { SalesNavImportPayload } from "../pipeline/payloads.ts"

export interface EnqueueRequest extends SalesNavImportPayload {
  readonly userId: string
  /** Our LinkedIn account id: the concurrency key that paces one account's searches. */
  readonly accountId: string
}

export class EnqueueError extends Schema.TaggedError<EnqueueError>()("EnqueueError", {
  message: Schema.String,
  /** The engine refused the request itself (a 4xx): sending it again cannot succeed. */
  permanent: Schema.optional(Schema.Boolean),
  cause: Schema.optional(Schema.Defect())
}) {}

/** The engine could not be asked (cancel, run state): nothing is known. */
export class EngineUnavailable extends Schema.TaggedError<EngineUnavailable>()("EngineUnavailable", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

export type Engine = "local" | "trigger"

/** Whether a run still exists on its engine (queued, running, waiting) or how it ended there. */
export type RunState =
  | { readonly _tag: "Active" }
  | { readonly _tag: "Gone"; readonly status: string; readonly canceled: boolean }

/**
 * An engine whose run ids can be minted before the commit (local): the import command then
 * writes the run with the import (leased to the engine of this process when one runs here), and
 * `started` only wakes the engine up after the commit.
 */
export interface PreparedRuns {
  readonly mint: Effect.Effect<MintedRun>
  started(request: EnqueueRequest, run: MintedRun): Effect.Effect<void>
}

export interface MintedRun {
  readonly runId: string
  /** The engine that holds the run from the moment it is written (the engine of this process). */
  readonly heldBy?: string | undefined
}

export class TaskQueue extends Context.Service<TaskQueue, {
  readonly engine: Engine
  readonly prepared?: PreparedRuns | undefined
  enqueue(request: EnqueueRequest): Effect.Effect<{ readonly runId: string }, EnqueueError>
  /** Stops the run and the stage it runs now, where the engine can; the stages stop by themselves otherwise. */
  cancel(runId: string): Effect.Effect<void, EngineUnavailable>
  runState(runId: string): Effect.Effect<RunState, EngineUnavailable>
}>()("app/imports/TaskQueue") {}

/** Run ids look like Trigger.dev's: `run_` + 16-40 alphanumerics (the contract's RunId pattern). */
export const RUN_ID_PATTERN = /^run_[A-Za-z0-9]{16,40}$/
