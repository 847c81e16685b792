/** fetch-page: asks the lead source for one page and records PageFetched. One at a time per LinkedIn account. */
import { task } from "@trigger.dev/sdk"
import { Effect } from "effect"
import { ImportStages } from "../src/pipeline/ImportStages.ts"
import type { PagePayload } from "../src/pipeline/payloads.ts"
import { STAGE_MAX_DURATION_SECONDS, stageRetry } from "./retry.ts"
import { retryAfterHint, runTask } from "./runtime.ts"

export const fetchPage = task({
  id: "fetch-page",
  // Triggered with the LinkedIn account as concurrency key: one search request at a time per account.
  concurrency: { perKey: 1 },
  retry: stageRetry,
  maxDuration: STAGE_MAX_DURATION_SECONDS.fetchPage,
  catchError: retryAfterHint,
  run: (payload: PagePayload) => runTask(Effect.flatMap(ImportStages, (s) => s.fetchPage(payload.importId, payload.page)))
})
