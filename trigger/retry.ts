/** The stages' retry policy (src/pipeline/retryPolicy.ts) in Trigger.dev's terms: both engines retry alike. */
import { STAGE_RETRY } from "../src/pipeline/retryPolicy.ts"

export const stageRetry = { ...STAGE_RETRY, randomize: true }

/**
 * Compute time one attempt of a stage may take before Trigger.dev stops it: a page stage is
 * one provider request or one transaction, so anything near this is a hang, not work.
 */
export const STAGE_MAX_DURATION_SECONDS = { fetchPage: 300, dedupe: 120, persistBatch: 120, refund: 60 } as const
