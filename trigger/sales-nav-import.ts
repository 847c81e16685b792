/**
 * sales-nav-import: the orchestrator. Each page's fetch, dedupe and persist run as
 * subtasks (triggerAndWait, one at a time), so every page retries on its own and shows
 * in the dashboard; the next step is always decided from the import's events, so a
 * retried parent continues where they stop. A parent that fails for good still
 * refunds and records ImportFailed (onFailure).
 */
import { idempotencyKeys, queue, task } from "@trigger.dev/sdk"
import { Effect } from "effect"
import type { ImportRequested } from "../events/index.ts"
import type { SalesNavImportPayload } from "../src/imports/TaskQueue.ts"
import { type Fact } from "../src/pipeline/importProcess.ts"
import { ImportStages, StageFailed } from "../src/pipeline/ImportStages.ts"
import { runImport, type StageRunner } from "../src/pipeline/runImport.ts"
import { dedupe } from "./dedupe.ts"
import { fetchPage } from "./fetch-page.ts"
import { persistBatch } from "./persist-batch.ts"
import { refundUnusedCredits } from "./refund-unused-credits.ts"
import { runTask } from "./runtime.ts"

interface Subtask<P> {
  readonly id: string
  triggerAndWait(payload: P, options?: { idempotencyKey?: string; concurrencyKey?: string }): PromiseLike<
    { readonly ok: true; readonly output: Fact } | { readonly ok: false; readonly error: unknown }
  >
}

/**
 * Runs a stage as a subtask and waits for it. The idempotency key (scoped to this run)
 * makes a retried parent wait for the child it already started instead of a second one.
 * A child that failed after its own retries ends the import (permanent).
 */
const subtask = <P>(child: Subtask<P>, payload: P, key: ReadonlyArray<string | number>, concurrencyKey?: string) =>
  Effect.tryPromise({
    try: async () =>
      child.triggerAndWait(payload, {
        idempotencyKey: await idempotencyKeys.create([child.id, ...key.map(String)]),
        ...(concurrencyKey !== undefined ? { concurrencyKey } : {})
      }),
    catch: (cause) => new StageFailed({ stage: child.id, kind: "transient", code: "trigger_failed", message: String(cause) })
  }).pipe(Effect.flatMap((result) =>
    result.ok
      ? Effect.succeed(result.output)
      : Effect.fail(new StageFailed({ stage: child.id, kind: "permanent", code: "subtask_failed", message: describe(result.error) }))
  ))

const describe = (error: unknown) =>
  typeof error === "object" && error !== null && "message" in error ? String(error.message) : String(error)

const subtaskRunner = (request: ImportRequested): StageRunner => ({
  fetchPage: (importId, page) => subtask(fetchPage, { importId, page }, [importId, page], request.accountId),
  dedupe: (importId, page) => subtask(dedupe, { importId, page }, [importId, page]),
  persistBatch: (importId, page, runId) => subtask(persistBatch, { importId, page, runId }, [importId, page]),
  refundUnusedCredits: (importId, because) => subtask(refundUnusedCredits, { importId, because }, [importId])
})

export const salesNavImport = task({
  id: "sales-nav-import",
  // Triggered with the LinkedIn account as concurrency key: one import at a time per account.
  queue: queue({ name: "sales-nav-import", concurrencyLimit: 1 }),
  retry: { maxAttempts: 3, factor: 2, minTimeoutInMs: 1_000, maxTimeoutInMs: 30_000, randomize: true },
  maxDuration: 6 * 3600,
  run: (payload: SalesNavImportPayload, { ctx }) => runTask(runImport(payload.importId, ctx.run.id, subtaskRunner)),
  onFailure: ({ payload, error }) =>
    runTask(Effect.gen(function*() {
      const stages = yield* ImportStages
      const because = { outcome: "failed" as const, error: `sales-nav-import failed: ${describe(error)}` }
      const refund = yield* stages.refundUnusedCredits(payload.importId, because)
      yield* stages.finish(payload.importId, refund._tag === "Refunded" ? refund.because : because)
    })).then(() => undefined)
})
