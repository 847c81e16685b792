/**
 * persist-batch n: inserts page n's kept leads as list rows and charges them, in one
 * transaction under the import's and the user's locks — so the last dedupe check sees
 * every other import's rows, and no charge can follow the import's refund. What to
 * insert and charge is decided by the money rules (../money.ts).
 */
import { Effect } from "effect"
import {
  BatchPersisted,
  CreditsCharged,
  creditsStream,
  importStream,
  LeadsDeduped,
  PageFetched,
  type PersistedRow,
  uuidV5
} from "../../../events/index.ts"
import type { Database } from "../../db/Database.ts"
import type { RecordedEvent } from "../../eventstore/EventStore.ts"
import { matchKeysOf } from "../dedupe.ts"
import { leadIdentity } from "../identity.ts"
import { type Fact, factOf } from "../importProcess.ts"
import { decidePersist } from "../money.ts"
import { sqlFailures, type StageFailed } from "../StageFailed.ts"
import type { ImportRecords } from "./ImportRecords.ts"
import { persistFound, persistLookup } from "./knownKeys.ts"

export const persistBatch = (db: Database["Service"], records: ImportRecords) => {
  const lookup = persistLookup(db)
  return (importId: string, page: number, runId: string): Effect.Effect<Fact, StageFailed> =>
    Effect.gen(function*() {
      const { ids } = records
      const written = yield* db.transaction(Effect.gen(function*() {
        const req = yield* records.request("persist-batch", importId)
        const eventIds = [ids.persisted(importId, page), ids.fetched(importId, page), ids.deduped(importId, page)]
        // The page and its dedupe held here (recorded by this process): the kept leads' keys are
        // known before the locks, and looked up with them, in one round trip. Else after.
        const heldPage = records.cached(ids.fetched(importId, page), PageFetched)
        const heldDedupe = records.cached(ids.deduped(importId, page), LeadsDeduped)
        const checked = heldPage === undefined || heldDedupe === undefined
          ? yield* records.lockAndCheck(importId, eventIds, req.userId)
          : yield* records.lockCheckAndLookUp(importId, eventIds, {
            userId: req.userId,
            keys: matchKeysOf(keptLeads(heldPage.event, heldDedupe.event)),
            seen: false,
            hold: true,
            lockUser: true
          })
        const { get, halt } = checked
        const done = get(ids.persisted(importId, page), BatchPersisted)
        if (halt) return halt
        if (done) return [done]
        const fetched = yield* records.must<RecordedEvent<PageFetched>>("persist-batch", `page ${page} of import ${importId}`)(
          get(ids.fetched(importId, page), PageFetched)
        )
        const deduped = yield* records.must<RecordedEvent<LeadsDeduped>>("persist-batch", `dedupe of page ${page} of import ${importId}`)(
          get(ids.deduped(importId, page), LeadsDeduped)
        )
        const leads = fetched.event.leads
        const kept = deduped.event.decisions.filter((d) => d.outcome === "kept")
        const { looked } = checked
        const { known, hold } = looked !== undefined
          ? yield* persistFound(importId, req.listId, looked.keys, looked.hold)
          : yield* lookup(req.userId, importId, req.listId, matchKeysOf(keptLeads(fetched.event, deduped.event)))
        const decision = decidePersist({
          maxResults: req.maxResults,
          charged: hold.charged,
          skipExistingCustomers: req.skipExistingCustomers,
          kept: kept.map((d) => ({ index: d.index, match: leadIdentity(leads[d.index]!).match })),
          inThisList: known.inThisList,
          inOtherLists: known.inOtherLists
        })
        const keysOf = new Map(kept.map((d) => [d.index, d.keys]))
        const rows: Array<PersistedRow> = decision.insert.map((index) => ({
          rowId: uuidV5(`${importId}/row/${page}/${index}`),
          index,
          lead: leads[index]!,
          keys: keysOf.get(index)!
        }))
        const meta = records.metadata(importId, req.userId, deduped.eventId)
        const batch = yield* records.appendOnce(
          importStream(importId),
          new BatchPersisted({
            importId,
            userId: req.userId,
            listId: req.listId,
            runId,
            page,
            rows,
            overCap: decision.overCap,
            lateDuplicates: decision.lateDuplicates,
            lateExisting: decision.lateExisting
          }),
          ids.persisted(importId, page),
          meta
        )
        if (decision.charge === 0) return [batch]
        const charge = yield* records.appendOnce(
          creditsStream(req.userId),
          new CreditsCharged({ userId: req.userId, importId, page, amount: decision.charge }),
          ids.charged(importId, page),
          { ...meta, causationId: ids.persisted(importId, page) }
        )
        return [batch, charge]
      }))
      if (typeof written === "string") return yield* records.halted("persist-batch", importId, written, `persist-batch ${page}`)
      // Remembered once committed: a rolled-back batch must never be taken as recorded.
      records.remember(written)
      return factOf(written[0]!.event)!
    }).pipe(sqlFailures("persist-batch"))
}

/** The leads of a page its dedupe kept, in page order. */
const keptLeads = (fetched: PageFetched, deduped: LeadsDeduped) =>
  deduped.decisions.filter((d) => d.outcome === "kept").map((d) => fetched.leads[d.index]!)
