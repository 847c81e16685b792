/** persist-batch: inserts a page's kept leads as list rows (trimmed to the cap) and charges them. */
import { task } from "@trigger.dev/sdk"
import { Effect } from "effect"
import { ImportStages } from "../src/pipeline/ImportStages.ts"
import type { PersistPayload } from "../src/pipeline/payloads.ts"
import { STAGE_MAX_DURATION_SECONDS, stageRetry } from "./retry.ts"
import { runTask } from "./runtime.ts"

export const persistBatch = task({
  id: "persist-batch",
  retry: stageRetry,
  maxDuration: STAGE_MAX_DURATION_SECONDS.persistBatch,
  run: (payload: PersistPayload) =>
    runTask(Effect.flatMap(ImportStages, (s) => s.persistBatch(payload.importId, payload.page, payload.runId)))
})
