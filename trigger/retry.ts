/** The stages' retry policy (src/pipeline/retryPolicy.ts) in Trigger.dev's terms: both engines retry alike. */
import { STAGE_RETRY } from "../src/pipeline/retryPolicy.ts"

export const stageRetry = { ...STAGE_RETRY, randomize: true }
