/**
 * Stages refuse an import that has ended, been refunded, or been asked to cancel: no
 * provider call, no event, no charge, no retry — whoever runs them (a dashboard Replay of
 * a page subtask, a second engine, a late retry). The cancel is recorded first and the
 * orchestrator turns it into a refund and ImportCanceled; a persist racing the refund
 * never charges past the reservation.
 */
import { expect, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { sql } from "kysely"
import { Database } from "../../src/db/Database.ts"
import { Imports } from "../../src/imports/Imports.ts"
import { ImportStages } from "../../src/pipeline/ImportStages.ts"
import { localStageRunner } from "../../src/pipeline/LocalEngine.ts"
import { runImport } from "../../src/pipeline/runImport.ts"
import { countingLeadSource, servicesCounting } from "../support/counting-lead-source.ts"
import { backend, TestDatabase } from "../support/db.ts"
import { makeUser } from "../support/fixtures.ts"

const leads = countingLeadSource()

const Services = servicesCounting(leads).pipe(
  Layer.provideMerge(TestDatabase({ max: 8 })),
  Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({})))
)

const search = () => `https://www.linkedin.com/sales/search/people?query=(halt-${crypto.randomUUID().slice(0, 8)})`

const started = (maxResults: number, url = search()) =>
  Effect.gen(function*() {
    const user = yield* makeUser({ credits: 1_000 })
    const imports = yield* Imports
    const s = yield* imports.start(user.userId, { url, maxResults, skipExistingCustomers: true }).pipe(Effect.orDie)
    return { ...s, userId: user.userId, url }
  })

/** The import's events (types in order), its hold and its row in the read model. */
const stateOf = (importId: string) =>
  Effect.gen(function*() {
    const db = yield* Database
    return yield* db.query(async (q) => ({
      events: (await q.selectFrom("events").select("type").where("correlation_id", "=", importId).orderBy("position").execute())
        .map((e) => e.type),
      hold: await q.selectFrom("credit_holds").select(["reserved", "charged", "refunded"]).where("import_id", "=", importId)
        .executeTakeFirstOrThrow(),
      row: await q.selectFrom("imports").selectAll().where("import_id", "=", importId).executeTakeFirstOrThrow(),
      rows: Number((await sql<{ n: number }>`select count(*)::int as n from list_rows where import_id = ${importId}::uuid`.execute(q)).rows[0]!.n)
    }))
  }).pipe(Effect.orDie)

const callsFor = (url: string) => leads.calls.filter((c) => c.url === url).length

const runToEnd = (importId: string, runId: string) =>
  Effect.flatMap(ImportStages, (stages) => runImport(importId, runId, () => localStageRunner(stages)))

layer(Services, { excludeTestServices: true })(`stages on a halted import (${backend})`, (it) => {
  it.effect("an import that has ended: a replayed fetch, dedupe or persist of any page does nothing", () =>
    Effect.gen(function*() {
      const stages = yield* ImportStages
      const s = yield* started(30)
      yield* runToEnd(s.importId, s.runId)
      const before = yield* stateOf(s.importId)
      expect(before.row.status).toBe("completed")
      const calls = callsFor(s.url)

      expect(yield* stages.fetchPage(s.importId, 3)).toEqual({ _tag: "Halted", reason: "ended" })
      expect(yield* stages.dedupe(s.importId, 3)).toEqual({ _tag: "Halted", reason: "ended" })
      expect(yield* stages.persistBatch(s.importId, 3, s.runId)).toEqual({ _tag: "Halted", reason: "ended" })
      // Even a page it did record: the import has ended, the stage says so first.
      expect(yield* stages.fetchPage(s.importId, 1)).toEqual({ _tag: "Halted", reason: "ended" })
      expect(yield* stages.persistBatch(s.importId, 1, s.runId)).toEqual({ _tag: "Halted", reason: "ended" })

      expect(callsFor(s.url)).toBe(calls)
      expect(yield* stateOf(s.importId)).toEqual(before)
    }))

  it.effect("a refunded import (failed, not yet finished): a replayed persist neither charges nor fails, and is not retried", () =>
    Effect.gen(function*() {
      const stages = yield* ImportStages
      const s = yield* started(100)
      yield* stages.fetchPage(s.importId, 1)
      yield* stages.dedupe(s.importId, 1)
      yield* stages.refundUnusedCredits(s.importId, { outcome: "failed", error: "account_restricted" })
      const before = yield* stateOf(s.importId)
      expect(before.hold).toEqual({ reserved: 100, charged: 0, refunded: 100 })

      // Before, this hit the credit_holds CHECK and was retried 8 times as "transient".
      expect(yield* stages.persistBatch(s.importId, 1, s.runId)).toEqual({ _tag: "Halted", reason: "refunded" })
      expect(yield* stages.fetchPage(s.importId, 2)).toEqual({ _tag: "Halted", reason: "refunded" })
      expect(yield* stateOf(s.importId)).toEqual(before)
      expect(callsFor(s.url)).toBe(1)
    }))

  it.effect("a cancel is recorded first; the next stage does nothing, and the orchestrator ends the import as canceled", () =>
    Effect.gen(function*() {
      const stages = yield* ImportStages
      const s = yield* started(100)
      yield* stages.fetchPage(s.importId, 1)
      yield* stages.dedupe(s.importId, 1)
      yield* stages.persistBatch(s.importId, 1, s.runId)
      expect(yield* stages.requestCancel(s.importId, s.userId)).toBe("requested")
      expect(yield* stages.requestCancel(s.importId, s.userId)).toBe("requested")

      expect(yield* stages.fetchPage(s.importId, 2)).toEqual({ _tag: "Halted", reason: "cancel_requested" })
      expect(callsFor(s.url)).toBe(1)

      const summary = yield* runToEnd(s.importId, s.runId)
      expect(summary.outcome).toEqual({ outcome: "canceled" })
      const after = yield* stateOf(s.importId)
      expect(after.row).toMatchObject({ status: "canceled", completion_reason: "canceled", cancel_requested: true })
      // The rows already imported stay; the rest of the reservation came back, once.
      expect(after.rows).toBe(25)
      expect(after.hold).toEqual({ reserved: 100, charged: 25, refunded: 75 })
      expect(after.events.filter((t) => t === "ImportCancelRequested").length).toBe(1)
      expect(after.events.filter((t) => t === "CreditsRefunded").length).toBe(1)
      expect(after.events.at(-1)).toBe("ImportCanceled")
      expect(callsFor(s.url)).toBe(1)

      // Too late now.
      expect(yield* stages.requestCancel(s.importId, s.userId)).toBe("ended")
    }))

  it.effect("ending an import twice (the API's cancel and the reconciler) refunds and ends it once", () =>
    Effect.gen(function*() {
      const stages = yield* ImportStages
      const s = yield* started(50)
      const outcomes = yield* Effect.all([
        stages.end(s.importId, { outcome: "canceled" }),
        stages.end(s.importId, { outcome: "failed", error: "run crashed" })
      ], { concurrency: "unbounded" })
      // Whoever refunded first decided; the other ended it the same way.
      expect(outcomes[0]).toEqual(outcomes[1])
      const after = yield* stateOf(s.importId)
      expect(after.hold).toEqual({ reserved: 50, charged: 0, refunded: 50 })
      expect(after.events.filter((t) => t === "CreditsRefunded").length).toBe(1)
      expect(after.events.filter((t) => t === "ImportCanceled" || t === "ImportFailed").length).toBe(1)
    }))

  it.effect("persists racing the refund: never a charge after it, never past the reservation", () =>
    Effect.gen(function*() {
      const stages = yield* ImportStages
      for (let round = 0; round < 8; round++) {
        const s = yield* started(60)
        for (const page of [1, 2]) {
          yield* stages.fetchPage(s.importId, page)
          yield* stages.dedupe(s.importId, page)
        }
        yield* Effect.all([
          stages.persistBatch(s.importId, 1, s.runId),
          stages.end(s.importId, { outcome: "canceled" }),
          stages.persistBatch(s.importId, 2, s.runId)
        ], { concurrency: "unbounded" })
        const after = yield* stateOf(s.importId)
        expect(Number(after.hold.charged) + Number(after.hold.refunded)).toBe(60)
        expect(after.rows).toBe(Number(after.hold.charged))
        expect(after.row.status).toBe("canceled")
      }
    }))
})
