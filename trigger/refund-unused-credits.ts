/** refund-unused-credits: gives back reserved - charged, exactly once, recording why the import ended. */
import { task } from "@trigger.dev/sdk"
import { Effect } from "effect"
import { ImportStages } from "../src/pipeline/ImportStages.ts"
import type { RefundPayload } from "../src/pipeline/payloads.ts"
import { STAGE_MAX_DURATION_SECONDS, stageRetry } from "./retry.ts"
import { runTask } from "./runtime.ts"

export const refundUnusedCredits = task({
  id: "refund-unused-credits",
  retry: stageRetry,
  maxDuration: STAGE_MAX_DURATION_SECONDS.refund,
  run: (payload: RefundPayload) =>
    runTask(Effect.flatMap(ImportStages, (s) => s.refundUnusedCredits(payload.importId, payload.because)))
})
