/**
 * The stages of an import as one service, engine-agnostic: the local engine calls them
 * in-process, the Trigger.dev tasks call them from their `run`, the API's cancel and the
 * reconciler call `requestCancel` and `end`. Each stage lives in its own file in stages/.
 *
 * Every page stage first checks that the import has not ended, been refunded or been asked
 * to cancel — if it has, it does nothing and says so (a `Halted` fact) — then looks for the
 * event it would record (deterministic ids: the import, the stage, the page) and returns
 * what it says if it is there. So a retried, replayed or duplicated stage never records
 * anything twice, and a crash anywhere leaves either the whole stage or none.
 */
import { Context, Effect, Layer } from "effect"
import type { ImportOutcome } from "../../events/index.ts"
import { Database } from "../db/Database.ts"
import { EventStore } from "../eventstore/EventStore.ts"
import { LeadSource } from "../leads/LeadSource.ts"
import type { Fact, ImportState } from "./importProcess.ts"
import type { StageFailed } from "./StageFailed.ts"
import { dedupePage } from "./stages/dedupePage.ts"
import { finish, refundUnusedCredits } from "./stages/endImport.ts"
import { fetchPage } from "./stages/fetchPage.ts"
import { makeImportRecords } from "./stages/ImportRecords.ts"
import { type CancelRequest, loadState, requestCancel, start } from "./stages/lifecycle.ts"
import { persistBatch } from "./stages/persistBatch.ts"

export class ImportStages extends Context.Service<ImportStages, {
  /** The import's state, folded from its events in chunks (the leads are never all held). */
  loadState(importId: string): Effect.Effect<ImportState, StageFailed>
  /** Records that run `runId` works on the import (once per run). */
  start(importId: string, runId: string): Effect.Effect<void, StageFailed>
  fetchPage(importId: string, page: number): Effect.Effect<Fact, StageFailed>
  dedupe(importId: string, page: number): Effect.Effect<Fact, StageFailed>
  persistBatch(importId: string, page: number, runId: string): Effect.Effect<Fact, StageFailed>
  refundUnusedCredits(importId: string, because: ImportOutcome): Effect.Effect<Fact, StageFailed>
  finish(importId: string, because: ImportOutcome): Effect.Effect<Fact, StageFailed>
  /** Records a cancel request, unless the import has ended (or is ending some other way). */
  requestCancel(importId: string, requestedBy: string): Effect.Effect<CancelRequest, StageFailed>
  /**
   * Ends the import now, as its own run would: refund, then finish. Returns how it ended,
   * which is `because` unless someone else's refund got there first (then theirs).
   */
  end(importId: string, because: ImportOutcome): Effect.Effect<ImportOutcome, StageFailed>
}>()("app/pipeline/ImportStages") {
  static readonly layer = Layer.effect(
    ImportStages,
    Effect.gen(function*() {
      const db = yield* Database
      const store = yield* EventStore
      const leads = yield* LeadSource
      const records = makeImportRecords(db, store)
      const refund = refundUnusedCredits(db, records)
      const finishStage = finish(records)

      const end = (importId: string, because: ImportOutcome) =>
        Effect.gen(function*() {
          const refunded = yield* refund(importId, because)
          const outcome = refunded._tag === "Refunded" ? refunded.because : because
          yield* finishStage(importId, outcome)
          return outcome
        })

      return ImportStages.of({
        loadState: loadState(store, records),
        start: start(records),
        fetchPage: fetchPage(db, records, leads),
        dedupe: dedupePage(db, records),
        persistBatch: persistBatch(db, records),
        refundUnusedCredits: refund,
        finish: finishStage,
        requestCancel: requestCancel(db, records),
        end
      })
    })
  )
}
