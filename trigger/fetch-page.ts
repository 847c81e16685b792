/** fetch-page: asks the lead source for one page and records PageFetched. Paced per LinkedIn account. */
import { queue, task } from "@trigger.dev/sdk"
import { Effect } from "effect"
import { ImportStages } from "../src/pipeline/ImportStages.ts"
import { stageRetry } from "./retry.ts"
import { retryAfterHint, runTask } from "./runtime.ts"

/** One search request at a time per LinkedIn account (the trigger's concurrencyKey is the account id). */
export const linkedinAccountQueue = queue({ name: "linkedin-account", concurrencyLimit: 1 })

export interface PagePayload {
  readonly importId: string
  readonly page: number
}

export const fetchPage = task({
  id: "fetch-page",
  queue: linkedinAccountQueue,
  retry: stageRetry,
  catchError: retryAfterHint,
  run: (payload: PagePayload) => runTask(Effect.flatMap(ImportStages, (s) => s.fetchPage(payload.importId, payload.page)))
})
