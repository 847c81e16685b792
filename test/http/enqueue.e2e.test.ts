/**
 * Enqueueing over the real Trigger.dev SDK against a stub of its API: the run id the
 * platform mints reaches the caller; 50 concurrent imports of one user never reserve
 * more than the user has; an outbox entry left by a crash is sent at the next start;
 * an engine that refuses the import gets a 503 and a full refund.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { CreditsCharged, CreditsGranted, CreditsRefunded, CreditsReserved, creditsStream } from "../../events/index.ts"
import { Database } from "../../src/db/Database.ts"
import { EventStore } from "../../src/eventstore/EventStore.ts"
import { Imports } from "../../src/imports/Imports.ts"
import { makeUser, PEOPLE_SEARCH, snapshotOf } from "../support/fixtures.ts"
import { call, client, TestAppOnTriggerStub, TriggerStub } from "../support/server.ts"
import { platform, stubApi } from "../support/trigger-stub.ts"

layer(TestAppOnTriggerStub({}, { maxConnections: 20 }), { excludeTestServices: true })("enqueue on Trigger.dev (stub API)", (it) => {
  it.effect("the run id Trigger.dev answers is the runId the caller gets, with the task, payload and key it needs", () =>
    Effect.gen(function*() {
      const api = yield* client
      const stub = yield* TriggerStub
      const user = yield* makeUser()
      const reply = yield* call(() => api.request("POST", "/api/lists/import-sales-nav", { token: user.token, json: { url: PEOPLE_SEARCH, maxResults: 25 } }))
      expect(reply.status).toBe(200)
      const sent = stub.received.at(-1)!
      expect(sent.url).toBe("/api/v1/tasks/sales-nav-import/trigger")
      expect(sent.headers.authorization).toBe("Bearer tr_dev_e2e")
      const importId = JSON.parse(sent.body.payload).json.importId
      expect(JSON.parse(sent.body.payload)).toEqual({ json: { importId } })
      expect(sent.body.options.idempotencyKey).toMatch(/^[0-9a-f]{64}$/)
      const answered = stub.replies.at(-1) as { body: { id: string } }
      expect(reply.body.runId).toBe(answered.body.id)
      // The run id is recorded: the import is found by it.
      const status = yield* call(() => api.request("GET", `/api/imports/${reply.body.runId}`, { token: user.token }))
      expect(status.body).toMatchObject({ status: "queued", runId: reply.body.runId, maxResults: 25 })
    }))

  it.effect("50 concurrent imports of one user with 1,000 credits asking 100 each never over-reserve", () =>
    Effect.gen(function*() {
      const api = yield* client
      const store = yield* EventStore
      const user = yield* makeUser({ credits: 1000 })
      const replies = yield* Effect.forEach(
        Array.from({ length: 50 }),
        () => call(() => api.request("POST", "/api/lists/import-sales-nav", { token: user.token, json: { url: PEOPLE_SEARCH, maxResults: 100 } })),
        { concurrency: "unbounded" }
      )
      const accepted = replies.filter((r) => r.status === 200)
      expect(replies.every((r) => r.status === 200 || r.status === 402)).toBe(true)
      // Nothing runs the imports here, so 10 fit exactly and the other 40 find nothing left.
      expect(accepted.length).toBe(10)

      // The credit stream, folded in order: available never below zero.
      const events = yield* store.readStream(creditsStream(user.userId))
      let balance = 0
      let reserved = 0
      const reservedByImport = new Map<string, number>()
      for (const { event } of events) {
        if (event instanceof CreditsGranted) balance += event.amount
        if (event instanceof CreditsReserved) {
          reserved += event.amount
          reservedByImport.set(event.importId, event.amount)
        }
        if (event instanceof CreditsCharged) {
          balance -= event.amount
          reserved -= event.amount
        }
        if (event instanceof CreditsRefunded) reserved -= event.amount
        expect(balance).toBeGreaterThanOrEqual(0)
        expect(balance - reserved).toBeGreaterThanOrEqual(0)
      }
      expect([...reservedByImport.values()].reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1000)

      // Every accepted answer matches what was reserved for it.
      for (const reply of accepted) {
        const status = yield* call(() => api.request("GET", `/api/imports/${reply.body.runId}`, { token: user.token }))
        expect(status.body.creditsReserved).toBe(reply.body.maxResults)
        expect(reply.body.wasCapped).toBe(reply.body.maxResults < 100)
      }
      const credits = yield* call(() => api.request("GET", "/api/credits", { token: user.token }))
      expect(credits.body).toEqual({ balance: 1000, reserved: 1000, available: 0 })
    }))

  it.effect("an outbox entry left by a crash between commit and dispatch is sent again, once", () =>
    Effect.gen(function*() {
      const db = yield* Database
      const imports = yield* Imports
      const stub = yield* TriggerStub
      const api = yield* client
      const user = yield* makeUser()
      const reply = yield* call(() => api.request("POST", "/api/lists/import-sales-nav", { token: user.token, json: { url: PEOPLE_SEARCH, maxResults: 5 } }))
      const importId = (yield* db.query((q) =>
        q.selectFrom("outbox").select("import_id").where("user_id", "=", user.userId).executeTakeFirstOrThrow()
      )).import_id
      // Pretend the process died after the commit, before the dispatch was recorded.
      yield* db.query((q) => q.updateTable("outbox").set({ dispatched_at: null, run_id: null }).where("import_id", "=", importId).execute())
      const sentBefore = stub.received.length

      expect(yield* imports.dispatchPending()).toBe(1)
      // The SDK sent the same idempotency key, so the platform answered with the same run.
      expect(stub.received.length).toBe(sentBefore + 1)
      const entry = yield* db.query((q) => q.selectFrom("outbox").selectAll().where("import_id", "=", importId).executeTakeFirstOrThrow())
      expect(entry.run_id).toBe(reply.body.runId)
      expect(yield* imports.dispatchPending()).toBe(0)
      // ImportEnqueued is recorded once.
      const events = yield* imports.events(importId)
      expect(events.filter((e) => e.type === "ImportEnqueued").length).toBe(1)
    }))
})

describe("when Trigger.dev refuses the import", () => {
  const Refusing = Layer.unwrap(Effect.gen(function*() {
    const stub = yield* stubApi((request) =>
      request.url.endsWith("/trigger") ? { status: 400, body: { error: "Task not found" } } : platform()(request)
    )
    return TestAppOnTriggerStub({ TRIGGER_API_URL: stub.url })
  }))

  layer(Refusing, { excludeTestServices: true })("503", (it) => {
    it.effect("answers 503 ENQUEUE_FAILED, ends the import as failed and refunds every credit", () =>
      Effect.gen(function*() {
        const api = yield* client
        const user = yield* makeUser({ credits: 300 })
        const reply = yield* call(() => api.request("POST", "/api/lists/import-sales-nav", { token: user.token, json: { url: PEOPLE_SEARCH, maxResults: 120 } }))
        expect(reply.status).toBe(503)
        expect(reply.body).toMatchObject({ success: false, code: "ENQUEUE_FAILED" })
        const credits = yield* call(() => api.request("GET", "/api/credits", { token: user.token }))
        expect(credits.body).toEqual({ balance: 300, reserved: 0, available: 300 })
        const after = yield* snapshotOf(user.userId)
        expect(after.reserved).toBe(0)
        const db = yield* Database
        const row = yield* db.query((q) => q.selectFrom("imports").selectAll().where("user_id", "=", user.userId).executeTakeFirstOrThrow())
        expect(row).toMatchObject({ status: "failed", credits_reserved: 120, credits_refunded: 120 })
      }))
  })
})
