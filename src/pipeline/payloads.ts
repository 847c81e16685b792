/** The payloads of the Trigger.dev tasks: ids only, the data lives in Postgres. */
import type { ImportOutcome } from "../../events/index.ts"

/** sales-nav-import. */
export interface SalesNavImportPayload {
  readonly importId: string
}

/** fetch-page and dedupe. */
export interface PagePayload {
  readonly importId: string
  readonly page: number
}

/** persist-batch: the run id goes on every row it writes. */
export interface PersistPayload extends PagePayload {
  readonly runId: string
}

/** refund-unused-credits. */
export interface RefundPayload {
  readonly importId: string
  readonly because: ImportOutcome
}
