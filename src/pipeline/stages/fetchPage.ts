/**
 * fetch-page n: asks the lead source for one page (with the cursor page n-1 left) and
 * records PageFetched. A halted import is never searched; a page already recorded is
 * returned as it was: a retry never calls LinkedIn again for a page it has.
 */
import { Effect } from "effect"
import { importStream, PageFetched } from "../../../events/index.ts"
import type { Database } from "../../db/Database.ts"
import type { RecordedEvent } from "../../eventstore/EventStore.ts"
import type { LeadSource, LeadSourceError } from "../../leads/LeadSource.ts"
import { type Fact, factOf } from "../importProcess.ts"
import { sqlFailures, StageFailed } from "../StageFailed.ts"
import type { ImportRecords } from "./ImportRecords.ts"

export const fetchPage = (db: Database["Service"], records: ImportRecords, leads: LeadSource["Service"]) =>
(importId: string, page: number): Effect.Effect<Fact, StageFailed> =>
  Effect.gen(function*() {
    const { ids } = records
    const what = `fetch-page ${page}`
    const { get, halt } = yield* records.check(importId, [ids.fetched(importId, page), ids.fetched(importId, page - 1)])
    const done = get(ids.fetched(importId, page), PageFetched)
    if (halt) return yield* records.halted("fetch-page", importId, halt, what)
    if (done) return factOf(done.event)!

    const req = yield* records.request("fetch-page", importId)
    const previous = page === 1
      ? undefined
      : yield* records.must<RecordedEvent<PageFetched>>("fetch-page", `page ${page - 1} of import ${importId}`)(
        get(ids.fetched(importId, page - 1), PageFetched)
      )
    const result = yield* leads.fetchPage({
      accountId: req.accountId,
      providerAccountId: yield* records.providerAccountId(importId, req.accountId),
      url: req.url,
      page,
      cursor: previous?.event.nextCursor ?? null
    }).pipe(Effect.mapError((e: LeadSourceError) =>
      new StageFailed({ stage: "fetch-page", kind: e.kind, code: e.code, message: e.message, retryAfterMs: e.retryAfterMs })
    ))

    // Recorded under the import's lock, unless the import halted while the provider answered.
    const written = yield* db.transaction(Effect.gen(function*() {
      const now = yield* records.lockAndCheck(importId, [ids.fetched(importId, page)])
      const raced = now.get(ids.fetched(importId, page), PageFetched)
      if (now.halt) return now.halt
      if (raced) return raced
      return yield* records.appendOnce(
        importStream(importId),
        new PageFetched({ importId, page, leads: result.leads, nextCursor: result.nextCursor, totalAvailable: result.totalAvailable }),
        ids.fetched(importId, page),
        records.metadata(importId, req.userId, previous?.eventId)
      )
    }))
    if (typeof written === "string") return yield* records.halted("fetch-page", importId, written, what)
    records.remember([written])
    return factOf(written.event)!
  }).pipe(sqlFailures("fetch-page"))
