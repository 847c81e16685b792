/**
 * How an import ends, whoever ends it (its own run, the API's cancel, the reconciler):
 *  - refund-unused-credits: gives back reserved - charged (../money.ts), exactly once, under
 *    the import's lock (no charge can follow it), recording why the import ended;
 *  - finish: records ImportCompleted, ImportFailed or ImportCanceled with the final counts.
 * Both use one deterministic id per import, so an import is refunded and ended once.
 */
import { Effect } from "effect"
import {
  CreditsRefunded,
  creditsStream,
  ImportCanceled,
  ImportCompleted,
  ImportFailed,
  type ImportOutcome,
  importStream
} from "../../../events/index.ts"
import type { Database } from "../../db/Database.ts"
import { type Fact, factOf } from "../importProcess.ts"
import { decideRefund } from "../money.ts"
import { sqlFailures, type StageFailed } from "../StageFailed.ts"
import type { ImportRecords } from "./ImportRecords.ts"

export const refundUnusedCredits = (db: Database["Service"], records: ImportRecords) =>
(importId: string, because: ImportOutcome): Effect.Effect<Fact, StageFailed> =>
  Effect.gen(function*() {
    const { ids } = records
    const refund = yield* db.transaction(Effect.gen(function*() {
      const { get } = yield* records.lockAndCheck(importId, [])
      const done = get(ids.refunded(importId), CreditsRefunded)
      if (done) return done
      const req = yield* records.request("refund-unused-credits", importId)
      const amount = decideRefund(yield* records.hold(importId))
      return yield* records.appendOnce(
        creditsStream(req.userId),
        new CreditsRefunded({ userId: req.userId, importId, amount, because }),
        ids.refunded(importId),
        records.metadata(importId, req.userId)
      )
    }))
    records.remember([refund])
    return factOf(refund.event)!
  }).pipe(sqlFailures("refund-unused-credits"))

export const finish = (records: ImportRecords) =>
(importId: string, because: ImportOutcome): Effect.Effect<Fact, StageFailed> =>
  Effect.gen(function*() {
    const req = yield* records.request("finish", importId)
    const h = yield* records.hold(importId)
    const counts = { importId, leadsImported: h.charged, creditsCharged: h.charged, creditsRefunded: h.refunded }
    const ended = yield* records.appendOnce(
      importStream(importId),
      because.outcome === "completed"
        ? new ImportCompleted({ ...counts, reason: because.reason })
        : because.outcome === "canceled"
        ? new ImportCanceled(counts)
        : new ImportFailed({ ...counts, error: because.error }),
      records.ids.ended(importId),
      records.metadata(importId, req.userId, records.ids.refunded(importId))
    )
    records.remember([ended])
    return { _tag: "Ended" } as const
  }).pipe(sqlFailures("finish"))
