/** refund-unused-credits: gives back reserved - charged, exactly once, recording why the import ended. */
import { task } from "@trigger.dev/sdk"
import { Effect } from "effect"
import type { ImportOutcome } from "../events/index.ts"
import { ImportStages } from "../src/pipeline/ImportStages.ts"
import { stageRetry } from "./retry.ts"
import { runTask } from "./runtime.ts"

export const refundUnusedCredits = task({
  id: "refund-unused-credits",
  retry: stageRetry,
  run: (payload: { readonly importId: string; readonly because: ImportOutcome }) =>
    runTask(Effect.flatMap(ImportStages, (s) => s.refundUnusedCredits(payload.importId, payload.because)))
})
