/**
 * The import's state for its orchestrator, the run that works on it, and a cancel request:
 *  - loadState folds the import's events (in chunks: the leads are never all held) and its refund;
 *  - start records that a run works on the import (once per run; not on a halted import);
 *  - requestCancel records ImportCancelRequested under the import's lock, unless the import
 *    has already ended (or is ending some other way), so whatever runs next sees it.
 */
import { Effect } from "effect"
import {
  CreditsRefunded,
  ImportCancelRequested,
  ImportStarted,
  importStream
} from "../../../events/index.ts"
import type { Database } from "../../db/Database.ts"
import type { EventStore } from "../../eventstore/EventStore.ts"
import { evolve, factOf, type ImportState, initialState } from "../importProcess.ts"
import { sqlFailures, type StageFailed } from "../StageFailed.ts"
import type { ImportRecords } from "./ImportRecords.ts"

/** Events folded at a time. */
const CHUNK = 50

export const loadState = (store: EventStore["Service"], records: ImportRecords) =>
(importId: string): Effect.Effect<ImportState, StageFailed> =>
  Effect.gen(function*() {
    let state = initialState
    for (let from = 1;; from += CHUNK) {
      const chunk = yield* store.readStream(importStream(importId), { fromVersion: from, limit: CHUNK })
      for (const e of chunk) {
        const fact = factOf(e.event)
        if (fact) state = evolve(state, fact)
      }
      if (chunk.length < CHUNK) break
    }
    const refunded = records.ids.refunded(importId)
    const refund = (yield* records.recorded([refunded]))(refunded, CreditsRefunded)
    return refund ? evolve(state, factOf(refund.event)!) : state
  }).pipe(sqlFailures("start"))

export const start = (records: ImportRecords) =>
(importId: string, runId: string): Effect.Effect<void, StageFailed> =>
  Effect.gen(function*() {
    const { halt } = yield* records.check(importId, [])
    if (halt) return
    const req = yield* records.request("start", importId)
    const started = yield* records.appendOnce(
      importStream(importId),
      new ImportStarted({ importId, runId }),
      records.ids.started(importId, runId),
      records.metadata(importId, req.userId)
    )
    records.remember([started])
  }).pipe(sqlFailures("start"))

/** `requested`: the cancel is recorded (now or before); `ended`: too late, the import has ended or is ending otherwise. */
export type CancelRequest = "requested" | "ended"

export const requestCancel = (db: Database["Service"], records: ImportRecords) =>
(importId: string, requestedBy: string): Effect.Effect<CancelRequest, StageFailed> =>
  Effect.gen(function*() {
    const { ids } = records
    const outcome = yield* db.transaction(Effect.gen(function*() {
      const { get } = yield* records.lockAndCheck(importId, [])
      const refund = get(ids.refunded(importId), CreditsRefunded)
      if (get.has(ids.ended(importId)) || (refund !== undefined && refund.event.because.outcome !== "canceled")) {
        return "ended" as const
      }
      if (get.has(ids.cancelRequested(importId))) return "requested" as const
      const req = yield* records.request("cancel", importId)
      return yield* records.appendOnce(
        importStream(importId),
        new ImportCancelRequested({ importId, requestedBy }),
        ids.cancelRequested(importId),
        records.metadata(importId, req.userId)
      )
    }))
    if (typeof outcome === "string") return outcome
    records.remember([outcome])
    return "requested" as const
  }).pipe(sqlFailures("cancel"))
