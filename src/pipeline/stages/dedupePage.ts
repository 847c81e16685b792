/**
 * dedupe n: decides, lead by lead, which of page n's leads to keep (see ../dedupe.ts) and
 * records LeadsDeduped with each decision and the key that matched.
 */
import { Effect } from "effect"
import { importStream, LeadsDeduped, PageFetched } from "../../../events/index.ts"
import type { Database } from "../../db/Database.ts"
import type { RecordedEvent } from "../../eventstore/EventStore.ts"
import { decideDedupe, matchKeysOf } from "../dedupe.ts"
import { type Fact, factOf } from "../importProcess.ts"
import { sqlFailures, type StageFailed } from "../StageFailed.ts"
import type { ImportRecords } from "./ImportRecords.ts"
import { knownFrom, knownKeys } from "./knownKeys.ts"

export const dedupePage = (db: Database["Service"], records: ImportRecords) => {
  const lookup = knownKeys(db)
  return (importId: string, page: number): Effect.Effect<Fact, StageFailed> =>
    Effect.gen(function*() {
      const { ids } = records
      // Straight to the lock (a check before it would only save a transaction on a replay), with the
      // request first: read once per import, it names the user whose lists the lookup reads.
      const written = yield* db.transaction(Effect.gen(function*() {
        const req = yield* records.request("dedupe", importId)
        const eventIds = [ids.deduped(importId, page), ids.fetched(importId, page)]
        // The page held here (fetched by this process): its keys are known before the lock, and
        // looked up with it, in one round trip. Else they are looked up once the page is read.
        const held = records.cached(ids.fetched(importId, page), PageFetched)
        const checked = held === undefined
          ? yield* records.lockAndCheck(importId, eventIds)
          : yield* records.lockCheckAndLookUp(importId, eventIds, {
            userId: req.userId,
            keys: matchKeysOf(held.event.leads),
            seen: true,
            hold: false,
            lockUser: false
          })
        const { get, halt } = checked
        const done = get(ids.deduped(importId, page), LeadsDeduped)
        if (halt) return halt
        if (done) return done
        const fetched = yield* records.must<RecordedEvent<PageFetched>>("dedupe", `page ${page} of import ${importId}`)(
          get(ids.fetched(importId, page), PageFetched)
        )
        const { looked } = checked
        const known = looked !== undefined
          ? knownFrom(looked.keys, looked.seen ?? [], req.listId)
          : yield* lookup(req.userId, importId, req.listId, matchKeysOf(fetched.event.leads))
        const outcome = decideDedupe(fetched.event.leads, known, req.skipExistingCustomers)
        return yield* records.appendOnce(
          importStream(importId),
          new LeadsDeduped({ importId, page, ...outcome }),
          ids.deduped(importId, page),
          records.metadata(importId, req.userId, fetched.eventId)
        )
      }))
      if (typeof written === "string") return yield* records.halted("dedupe", importId, written, `dedupe ${page}`)
      records.remember([written])
      return factOf(written.event)!
    }).pipe(sqlFailures("dedupe"))
}
