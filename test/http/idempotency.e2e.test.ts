/**
 * Idempotent POST /api/lists/import-sales-nav: the same Idempotency-Key with the same body
 * answers the first 200 again (Idempotent-Replayed: true), reserving, creating and enqueueing
 * nothing; another body is 422; 20 concurrent duplicates start one import and reserve once;
 * keys are per user and expire; a key whose import the engine refused is given back; without
 * the header every call starts an import, as the seed says.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Database } from "../../src/db/Database.ts"
import { makeUser, PEOPLE_SEARCH, snapshotOf } from "../support/fixtures.ts"
import { call, client, TestAppOnTriggerStub, TriggerStub } from "../support/server.ts"

const post = (token: string, body: unknown, key?: string) =>
  Effect.flatMap(client, (api) =>
    call(() =>
      api.request("POST", "/api/lists/import-sales-nav", { token, json: body, ...(key !== undefined ? { headers: { "idempotency-key": key } } : {}) })
    ))

const triggers = Effect.map(TriggerStub, (stub) => stub.received.filter((r) => r.url.endsWith("/trigger")).length)

const body = { url: PEOPLE_SEARCH, maxResults: 40 }

layer(TestAppOnTriggerStub(), { excludeTestServices: true })("Idempotency-Key", (it) => {
  it.effect("a retry with the same key and body answers the first 200 again, and nothing new happens", () =>
    Effect.gen(function*() {
      const user = yield* makeUser({ credits: 1_000 })
      const key = `retry-${crypto.randomUUID()}`
      const first = yield* post(user.token, body, key)
      expect(first.status).toBe(200)
      expect(first.headers.get("idempotent-replayed")).toBeNull()
      const before = yield* snapshotOf(user.userId)
      const sent = yield* triggers

      const again = yield* post(user.token, { ...body, maxResults: 40, skipExistingCustomers: true }, key)
      expect(again.status).toBe(200)
      expect(again.headers.get("idempotent-replayed")).toBe("true")
      expect(again.body).toEqual(first.body)
      expect(yield* snapshotOf(user.userId)).toEqual(before)
      expect(yield* triggers).toBe(sent)
    }))

  it.effect("the same key with another body: 422 IDEMPOTENCY_KEY_REUSED, nothing written", () =>
    Effect.gen(function*() {
      const user = yield* makeUser({ credits: 1_000 })
      const key = `reuse-${crypto.randomUUID()}`
      expect((yield* post(user.token, body, key)).status).toBe(200)
      const before = yield* snapshotOf(user.userId)
      const reused = yield* post(user.token, { ...body, maxResults: 41 }, key)
      expect(reused.status).toBe(422)
      expect(reused.body).toMatchObject({ success: false, code: "IDEMPOTENCY_KEY_REUSED" })
      expect(yield* snapshotOf(user.userId)).toEqual(before)
    }))

  it.effect("20 concurrent requests with one key: one import, reserved once; every 200 names it", () =>
    Effect.gen(function*() {
      const stub = yield* TriggerStub
      // The engine takes its time: the duplicates arrive while the first is being dispatched.
      stub.delayTriggers(100, 200)
      const user = yield* makeUser({ credits: 1_000 })
      const key = `race-${crypto.randomUUID()}`
      const replies = yield* Effect.forEach(Array.from({ length: 20 }), () => post(user.token, body, key), { concurrency: "unbounded" })
      stub.delayTriggers(0, 0)

      const ok = replies.filter((r) => r.status === 200)
      expect(ok.length).toBeGreaterThan(0)
      expect(new Set(ok.map((r) => r.body.runId)).size).toBe(1)
      expect(replies.every((r) => r.status === 200 || (r.status === 409 && r.body.code === "IDEMPOTENCY_KEY_IN_USE"))).toBe(true)
      expect(ok.filter((r) => r.headers.get("idempotent-replayed") === null)).toHaveLength(1)
      const after = yield* snapshotOf(user.userId)
      expect(after.imports).toBe(1)
      expect(after.holds).toBe(1)
      expect(after.reserved).toBe(40)
    }))

  it.effect("keys are per user; without a key every call starts an import (the seed's behaviour)", () =>
    Effect.gen(function*() {
      const one = yield* makeUser({ credits: 1_000 })
      const two = yield* makeUser({ credits: 1_000 })
      const key = `shared-${crypto.randomUUID()}`
      const a = yield* post(one.token, body, key)
      const b = yield* post(two.token, body, key)
      expect(a.body.runId).not.toBe(b.body.runId)
      expect(b.headers.get("idempotent-replayed")).toBeNull()
      const c = yield* post(one.token, body)
      const d = yield* post(one.token, body)
      expect(new Set([a.body.runId, c.body.runId, d.body.runId]).size).toBe(3)
      expect((yield* snapshotOf(one.userId)).imports).toBe(3)
    }))

  it.effect("a key older than 24 hours starts a new import", () =>
    Effect.gen(function*() {
      const db = yield* Database
      const user = yield* makeUser({ credits: 1_000 })
      const key = `old-${crypto.randomUUID()}`
      const first = yield* post(user.token, body, key)
      yield* db.query((q) =>
        q.updateTable("idempotency_keys").set({ created_at: new Date(Date.now() - 25 * 3_600_000) })
          .where("user_id", "=", user.userId).execute()
      ).pipe(Effect.orDie)
      const later = yield* post(user.token, body, key)
      expect(later.status).toBe(200)
      expect(later.body.runId).not.toBe(first.body.runId)
      expect(later.headers.get("idempotent-replayed")).toBeNull()
    }))

  it.effect("a malformed key is 400 naming the header", () =>
    Effect.gen(function*() {
      const user = yield* makeUser({ credits: 1_000 })
      for (const key of ["has space", "x".repeat(256), "é-non-ascii"]) {
        const reply = yield* post(user.token, body, key)
        expect(reply.status).toBe(400)
        expect(reply.body).toMatchObject({ code: "VALIDATION_FAILED" })
        expect(JSON.stringify(reply.body.details)).toContain("idempotency-key")
      }
    }))
})

layer(TestAppOnTriggerStub(), { excludeTestServices: true })("Idempotency-Key with an engine that refuses", (it) => {
  it.effect("the refused import gives its key back: the retry starts afresh", () =>
    Effect.gen(function*() {
      const stub = yield* TriggerStub
      const user = yield* makeUser({ credits: 1_000 })
      const key = `refused-${crypto.randomUUID()}`
      // Every trigger is refused for a moment (400: the task does not exist).
      stub.refuseTriggers(true)
      const refused = yield* post(user.token, body, key)
      expect(refused.status).toBe(503)
      expect(refused.body.code).toBe("ENQUEUE_FAILED")
      stub.refuseTriggers(false)
      const retried = yield* post(user.token, body, key)
      expect(retried.status).toBe(200)
      expect(retried.headers.get("idempotent-replayed")).toBeNull()
      expect(stub.runs.has(retried.body.runId)).toBe(true)
    }))
})
