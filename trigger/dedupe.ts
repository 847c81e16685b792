/** dedupe: decides which leads of a page to keep and records LeadsDeduped. */
import { task } from "@trigger.dev/sdk"
import { Effect } from "effect"
import { ImportStages } from "../src/pipeline/ImportStages.ts"
import type { PagePayload } from "../src/pipeline/payloads.ts"
import { STAGE_MAX_DURATION_SECONDS, stageRetry } from "./retry.ts"
import { runTask } from "./runtime.ts"

export const dedupe = task({
  id: "dedupe",
  retry: stageRetry,
  maxDuration: STAGE_MAX_DURATION_SECONDS.dedupe,
  run: (payload: PagePayload) => runTask(Effect.flatMap(ImportStages, (s) => s.dedupe(payload.importId, payload.page)))
})
