/**
 * The reconciler on both engines: an import whose run is gone ends — refunded exactly
 * once, ImportFailed (or ImportCanceled when the run was canceled from outside) with why —
 * within the reconciler's interval; an import whose run lives is left alone; an outbox entry
 * nobody dispatched is dispatched; several passes at once change nothing more.
 *
 * Trigger.dev: the service against a stub of the platform whose runs a test can crash,
 * cancel or complete as the dashboard would show them. Local engine: a run that is lost
 * (its row done or gone while the import has not ended).
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { sql } from "kysely"
import { Database } from "../../src/db/Database.ts"
import { Reconciler } from "../../src/imports/Reconciler.ts"
import { ImportStages } from "../../src/pipeline/ImportStages.ts"
import { makeUser } from "../support/fixtures.ts"
import { type ImportStatusBody, startImport } from "../support/imports.ts"
import { call, client, TestApp, TestAppOnTriggerStub, TriggerStub } from "../support/server.ts"

const search = () => `https://www.linkedin.com/sales/search/people?query=(reconcile-${crypto.randomUUID().slice(0, 8)})`

/** Every 100 ms, for imports quiet 0 ms and outbox entries 0 ms old: "within the interval" is fast here. */
const FAST = { RECONCILE_INTERVAL_MS: "100", RECONCILE_QUIET_MS: "0", RECONCILE_OUTBOX_GRACE_MS: "0" }

const statusOf = (token: string, runId: string) =>
  Effect.flatMap(client, (api) => call(() => api.request("GET", `/api/imports/${runId}`, { token }))).pipe(
    Effect.map((r) => r.body as ImportStatusBody)
  )

const awaitStatus = (token: string, runId: string, done: (s: ImportStatusBody) => boolean, timeoutMs = 5_000) =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    while (true) {
      const s = yield* statusOf(token, runId)
      if (done(s) || Date.now() > deadline) return s
      yield* Effect.sleep("25 millis")
    }
  })

const counts = (runId: string) =>
  Effect.flatMap(Database, (db) =>
    db.query((q) =>
      sql<{ refunds: number; endings: number }>`
        select count(*) filter (where e.type = 'CreditsRefunded')::int as refunds,
               count(*) filter (where e.type in ('ImportCompleted', 'ImportFailed', 'ImportCanceled'))::int as endings
        from events e join imports i on e.correlation_id = i.import_id::text where i.run_id = ${runId}`.execute(q)
    )).pipe(Effect.map((r) => r.rows[0]!), Effect.orDie)

const newImport = (maxResults = 100) =>
  Effect.gen(function*() {
    const api = yield* client
    const user = yield* makeUser({ credits: 1_000 })
    const reply = yield* startImport(api, user.token, { url: search(), maxResults })
    expect(reply.status).toBe(200)
    return { token: user.token, userId: user.userId, runId: reply.body.runId as string }
  })

layer(TestAppOnTriggerStub(FAST), { excludeTestServices: true })("the reconciler on Trigger.dev", (it) => {
  it.effect("a run that crashed: the import fails, refunded once, saying why", () =>
    Effect.gen(function*() {
      const stub = yield* TriggerStub
      const s = yield* newImport(100)
      stub.runs.get(s.runId)!.status = "CRASHED"
      const after = yield* awaitStatus(s.token, s.runId, (x) => x.status !== "queued")
      expect(after).toMatchObject({ status: "failed", creditsRefunded: 100, leadsImported: 0 })
      expect(after.error).toMatch(/CRASHED/)
      expect(yield* counts(s.runId)).toEqual({ refunds: 1, endings: 1 })
    }))

  it.effect("a run canceled from the dashboard: the import is canceled and refunded", () =>
    Effect.gen(function*() {
      const stub = yield* TriggerStub
      const s = yield* newImport(70)
      stub.runs.get(s.runId)!.status = "CANCELED"
      const after = yield* awaitStatus(s.token, s.runId, (x) => x.status !== "queued")
      expect(after).toMatchObject({ status: "canceled", completionReason: "canceled", creditsRefunded: 70 })
      expect(yield* counts(s.runId)).toEqual({ refunds: 1, endings: 1 })
    }))

  it.effect.each(["SYSTEM_FAILURE", "TIMED_OUT", "EXPIRED", "FAILED", "COMPLETED"])(
    "a run %s without ending the import: the import fails and is refunded",
    (runStatus) =>
      Effect.gen(function*() {
        const stub = yield* TriggerStub
        const s = yield* newImport(10)
        stub.runs.get(s.runId)!.status = runStatus
        const after = yield* awaitStatus(s.token, s.runId, (x) => x.status !== "queued")
        expect(after).toMatchObject({ status: "failed", creditsRefunded: 10 })
        expect(after.error).toContain(runStatus)
      })
  )

  it.effect("a run that lives (executing, waiting, queued) is left alone", () =>
    Effect.gen(function*() {
      const stub = yield* TriggerStub
      const reconciler = yield* Reconciler
      const s = yield* newImport(10)
      for (const runStatus of ["EXECUTING", "WAITING", "QUEUED", "DELAYED"]) {
        stub.runs.get(s.runId)!.status = runStatus
        yield* reconciler.tick()
        yield* Effect.sleep("150 millis")
        expect((yield* statusOf(s.token, s.runId)).status).toBe("queued")
      }
      expect(yield* counts(s.runId)).toEqual({ refunds: 0, endings: 0 })
    }))

  it.effect("several passes at once (several instances) on a crashed run: one refund, one ending", () =>
    Effect.gen(function*() {
      const stub = yield* TriggerStub
      const reconciler = yield* Reconciler
      const s = yield* newImport(40)
      stub.runs.get(s.runId)!.status = "CRASHED"
      yield* Effect.all(Array.from({ length: 4 }, () => reconciler.tick()), { concurrency: "unbounded" })
      expect((yield* statusOf(s.token, s.runId)).status).toBe("failed")
      expect(yield* counts(s.runId)).toEqual({ refunds: 1, endings: 1 })
    }))

  it.effect("an outbox entry left by a crash between commit and dispatch is dispatched to the same run", () =>
    Effect.gen(function*() {
      const db = yield* Database
      const stub = yield* TriggerStub
      const s = yield* newImport(20)
      const importId = (yield* db.query((q) => q.selectFrom("outbox").select("import_id").where("user_id", "=", s.userId).executeTakeFirstOrThrow())
        .pipe(Effect.orDie)).import_id
      yield* db.query((q) => q.updateTable("outbox").set({ dispatched_at: null, run_id: null }).where("import_id", "=", importId).execute())
        .pipe(Effect.orDie)
      let entry = { run_id: null as string | null, dispatched_at: null as Date | null }
      for (let i = 0; i < 200 && entry.dispatched_at === null; i++) {
        yield* Effect.sleep("25 millis")
        entry = yield* db.query((q) => q.selectFrom("outbox").select(["run_id", "dispatched_at"]).where("import_id", "=", importId).executeTakeFirstOrThrow())
          .pipe(Effect.orDie)
      }
      expect(entry.run_id).toBe(s.runId)
      // However many times it was sent, the platform holds one run for the import, and it is recorded once.
      expect([...stub.runs.values()].filter((r) => r.tags.includes(`import:${importId}`))).toHaveLength(1)
      const enqueued = yield* db.query((q) =>
        sql<{ n: number }>`select count(*)::int as n from events where correlation_id = ${importId} and type = 'ImportEnqueued'`.execute(q)
      ).pipe(Effect.orDie)
      expect(enqueued.rows[0]!.n).toBe(1)
    }))
})

layer(TestApp({ ...FAST, FAKE_PAGE_LATENCY_MS: "60000" }), { excludeTestServices: true })("the reconciler on the local engine", (it) => {
  it.effect("a lost run (its row done while the import has not ended): the import fails, refunded once", () =>
    Effect.gen(function*() {
      const db = yield* Database
      // A page takes a minute here: the engine is busy with page 1 while its run is lost.
      const s = yield* newImport(80)
      yield* db.query((q) => q.updateTable("local_runs").set({ status: "done" }).where("run_id", "=", s.runId).execute()).pipe(Effect.orDie)
      const after = yield* awaitStatus(s.token, s.runId, (x) => x.status === "failed")
      expect(after).toMatchObject({ status: "failed", creditsRefunded: 80 })
      expect(after.error).toMatch(/local run .* ended \(done\)/)
      expect(yield* counts(s.runId)).toEqual({ refunds: 1, endings: 1 })
    }))

  it.effect("a cancel that was recorded but never finished (the request died) is finished as canceled", () =>
    Effect.gen(function*() {
      const db = yield* Database
      const stages = yield* ImportStages
      const s = yield* newImport(30)
      const { import_id } = yield* db.query((q) =>
        q.selectFrom("imports").select("import_id").where("run_id", "=", s.runId).executeTakeFirstOrThrow()
      ).pipe(Effect.orDie)
      yield* stages.requestCancel(import_id, s.userId)
      const after = yield* awaitStatus(s.token, s.runId, (x) => x.status === "canceled")
      expect(after).toMatchObject({ status: "canceled", cancelRequested: true, creditsRefunded: 30 })
      expect(yield* counts(s.runId)).toEqual({ refunds: 1, endings: 1 })
    }))
})
