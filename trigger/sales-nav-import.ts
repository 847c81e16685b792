/**
 * sales-nav-import: the orchestrator. Each page's fetch, dedupe and persist run as
 * subtasks (triggerAndWait, one at a time), so every page retries on its own and shows
 * in the dashboard, tagged with its import and page; the parent's metadata carries the
 * import's progress. The next step is always decided from the import's events, so a
 * retried parent continues where they stop, and a stage of an import that has ended
 * (or was canceled) does nothing. A parent that fails for good still refunds and records
 * ImportFailed (onFailure); a run that is canceled or crashes is ended by the service's
 * reconciler, which asks Trigger.dev for the run's status.
 */
import { idempotencyKeys, metadata, task } from "@trigger.dev/sdk"
import { Effect } from "effect"
import type { ImportRequested } from "../events/index.ts"
import type { Fact, ImportState } from "../src/pipeline/importProcess.ts"
import { ImportStages } from "../src/pipeline/ImportStages.ts"
import type { SalesNavImportPayload } from "../src/pipeline/payloads.ts"
import { runImport, type StageRunner } from "../src/pipeline/runImport.ts"
import { StageFailed } from "../src/pipeline/StageFailed.ts"
import { dedupe } from "./dedupe.ts"
import { fetchPage } from "./fetch-page.ts"
import { persistBatch } from "./persist-batch.ts"
import { refundUnusedCredits } from "./refund-unused-credits.ts"
import { runTask } from "./runtime.ts"

interface Subtask<P> {
  readonly id: string
  triggerAndWait(payload: P, options?: { idempotencyKey?: string; concurrencyKey?: string; tags?: Array<string> }): PromiseLike<
    { readonly ok: true; readonly output: Fact } | { readonly ok: false; readonly error: unknown }
  >
}

/** Dashboard tags of a child: find every run of an import (and a page) with the run filter. */
export const childTags = (importId: string, page?: number): Array<string> =>
  page === undefined ? [`import:${importId}`] : [`import:${importId}`, `page:${page}`]

/**
 * Runs a stage as a subtask and waits for it. The idempotency key (scoped to this run)
 * makes a retried parent wait for the child it already started instead of a second one.
 * A child that failed after its own retries ends the import (permanent).
 */
const subtask = <P>(
  child: Subtask<P>,
  payload: P,
  key: ReadonlyArray<string | number>,
  options: { readonly tags: Array<string>; readonly concurrencyKey?: string }
) =>
  Effect.tryPromise({
    try: async () =>
      child.triggerAndWait(payload, {
        idempotencyKey: await idempotencyKeys.create([child.id, ...key.map(String)]),
        tags: options.tags,
        ...(options.concurrencyKey !== undefined ? { concurrencyKey: options.concurrencyKey } : {})
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
  fetchPage: (importId, page) =>
    subtask(fetchPage, { importId, page }, [importId, page], { tags: childTags(importId, page), concurrencyKey: request.accountId }),
  dedupe: (importId, page) => subtask(dedupe, { importId, page }, [importId, page], { tags: childTags(importId, page) }),
  persistBatch: (importId, page, runId) =>
    subtask(persistBatch, { importId, page, runId }, [importId, page], { tags: childTags(importId, page) }),
  refundUnusedCredits: (importId, because) => subtask(refundUnusedCredits, { importId, because }, [importId], { tags: childTags(importId) })
})

/** The import's progress as the dashboard shows it in the parent run's metadata. */
export const progressOf = (state: ImportState) => ({
  page: state.fetched.page,
  leadsFetched: state.leadsFetched,
  totalAvailable: state.totalAvailable,
  leadsImported: state.imported,
  maxResults: state.request?.maxResults ?? null,
  cancelRequested: state.cancelRequested,
  outcome: state.refund?.because.outcome ?? null,
  ended: state.ended
})

const publishProgress = (state: ImportState) => Effect.sync(() => metadata.set("progress", progressOf(state)))

export const salesNavImport = task({
  id: "sales-nav-import",
  retry: { maxAttempts: 3, factor: 2, minTimeoutInMs: 1_000, maxTimeoutInMs: 30_000, randomize: true },
  maxDuration: 6 * 3600,
  run: (payload: SalesNavImportPayload, { ctx }) =>
    runTask(runImport(payload.importId, ctx.run.id, subtaskRunner, { onStep: publishProgress })),
  onFailure: ({ payload, error }) =>
    runTask(Effect.flatMap(ImportStages, (stages) =>
      stages.end(payload.importId, { outcome: "failed", error: `sales-nav-import failed: ${describe(error)}` }))).then(() => undefined)
})
