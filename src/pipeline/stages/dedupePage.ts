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
import { knownKeys } from "./knownKeys.ts"

export const dedupePage = (db: Database["Service"], records: ImportRecords) => {
  const lookup = knownKeys(db)
  return (importId: string, page: number): Effect.Effect<Fact, StageFailed> =>
    Effect.gen(function*() {
      const { ids } = records
      // Straight to the lock: a check before it would only save a transaction on a replay.
      const written = yield* db.transaction(Effect.gen(function*() {
        const { get, halt } = yield* records.lockAndCheck(importId, [ids.deduped(importId, page), ids.fetched(importId, page)])
        const done = get(ids.deduped(importId, page), LeadsDeduped)
        if (halt) return halt
        if (done) return done
        const req = yield* records.request("dedupe", importId)
        const fetched = yield* records.must<RecordedEvent<PageFetched>>("dedupe", `page ${page} of import ${importId}`)(
          get(ids.fetched(importId, page), PageFetched)
        )
        const known = yield* lookup(req.userId, importId, req.listId, matchKeysOf(fetched.event.leads))
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
