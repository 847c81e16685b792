/**
 * A client that hangs up right after its POST (a timeout, a closed tab) cannot strand a
 * committed import: the dispatch runs in the service's own fiber, so every import that was
 * committed gets its run — with the reconciler off, nothing heals it afterwards — and no
 * credits stay reserved by an import that is not running. Repeated many times, hanging up
 * at random moments of the request, against a Trigger.dev API that takes its time and on
 * the local engine.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { sql } from "kysely"
import { Database } from "../../src/db/Database.ts"
import { makeUser } from "../support/fixtures.ts"
import { client, TestApp, TestAppOnTriggerStub, TriggerStub } from "../support/server.ts"

const ATTEMPTS = 30

const search = () => `https://www.linkedin.com/sales/search/people?query=(hangup-${crypto.randomUUID().slice(0, 8)})&fakeCount=30`

/** POSTs an import and hangs up after `afterMs` (the answer may or may not have come). */
const postAndHangUp = (baseUrl: string, token: string, afterMs: number) =>
  Effect.promise(async () => {
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(), afterMs)
    try {
      const response = await fetch(`${baseUrl}/api/lists/import-sales-nav`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ url: search(), maxResults: 20 }),
        signal: controller.signal
      })
      return response.status
    } catch {
      return "hung up" as const
    } finally {
      clearTimeout(timer)
    }
  })

/** The user's imports with their run and outbox state. */
const importsOf = (userId: string) =>
  Effect.flatMap(Database, (db) =>
    db.query((q) =>
      sql<{ import_id: string; run_id: string | null; status: string; max_results: number; dispatched: boolean }>`
        select i.import_id::text, i.run_id, i.status, i.max_results::int, o.dispatched_at is not null as dispatched
        from imports i join outbox o using (import_id) where i.user_id = ${userId}::uuid`.execute(q)
    )).pipe(Effect.map((r) => r.rows), Effect.orDie)

const creditsOf = (userId: string) =>
  Effect.flatMap(Database, (db) =>
    db.query((q) => q.selectFrom("credit_accounts").select(["reserved"]).where("user_id", "=", userId).executeTakeFirstOrThrow())
  ).pipe(Effect.map((r) => Number(r.reserved)), Effect.orDie)

/**
 * Polls until `done` holds and the user's imports have stopped appearing: a request whose
 * client hung up before the commit still runs to its end in the service.
 */
const settle = <A extends ReadonlyArray<unknown>, R>(check: Effect.Effect<A, never, R>, done: (a: A) => boolean) =>
  Effect.gen(function*() {
    let stable = 0
    let last = -1
    for (let i = 0; i < 600 && stable < 10; i++) {
      const value = yield* check
      stable = done(value) && value.length === last ? stable + 1 : 0
      last = value.length
      yield* Effect.sleep("25 millis")
    }
    return yield* check
  })

layer(TestAppOnTriggerStub(), { excludeTestServices: true })("a client hangs up after its POST (Trigger.dev)", (it) => {
  it.effect(`${ATTEMPTS} times at random moments: every committed import has its run, no credits held by an import without one`, () =>
    Effect.gen(function*() {
      const api = yield* client
      const stub = yield* TriggerStub
      // Trigger.dev answers after 150-350 ms: a request hanging up is often mid-dispatch.
      stub.delayTriggers(150, 350)
      const user = yield* makeUser({ credits: 10_000 })
      const outcomes = yield* Effect.forEach(
        Array.from({ length: ATTEMPTS }, (_, i) => (i * 17) % 500),
        (afterMs) => postAndHangUp(api.baseUrl, user.token, afterMs),
        { concurrency: 5 }
      )
      expect(outcomes.filter((o) => o === "hung up").length).toBeGreaterThan(ATTEMPTS / 3)

      // No reconciler runs here: what settles, settles by the dispatches the requests started.
      const imports = yield* settle(importsOf(user.userId), (rows) => rows.every((r) => r.dispatched))
      expect(imports.length).toBeGreaterThan(0)
      for (const row of imports) {
        expect(row.dispatched).toBe(true)
        expect(row.run_id).not.toBeNull()
        expect(stub.runs.has(row.run_id!)).toBe(true)
      }
      // Every credit held is held by an import that has its run.
      expect(yield* creditsOf(user.userId)).toBe(imports.reduce((sum, r) => sum + r.max_results, 0))
      expect(new Set(imports.map((r) => r.run_id)).size).toBe(imports.length)
    }))
})

layer(TestApp({ FAKE_PAGE_LATENCY_MS: "5" }), { excludeTestServices: true })("a client hangs up after its POST (local engine)", (it) => {
  it.effect(`${ATTEMPTS} times at random moments: every committed import runs to its end, nothing stays reserved`, () =>
    Effect.gen(function*() {
      const api = yield* client
      const user = yield* makeUser({ credits: 10_000 })
      // Most hang up within 60 ms of sending (around the commit); the last ten later, so some
      // requests commit even on a machine loaded enough that none commits in 60 ms.
      yield* Effect.forEach(
        Array.from({ length: ATTEMPTS }, (_, i) => i < ATTEMPTS - 10 ? (i * 7) % 60 : 60 * (i - ATTEMPTS + 11)),
        (afterMs) => postAndHangUp(api.baseUrl, user.token, afterMs),
        { concurrency: 5 }
      )
      const imports = yield* settle(importsOf(user.userId), (rows) => rows.every((r) => r.status === "completed"))
      expect(imports.length).toBeGreaterThan(0)
      expect(imports.filter((r) => !(r.status === "completed" && r.dispatched && r.run_id !== null))).toEqual([])
      expect(yield* creditsOf(user.userId)).toBe(0)
    }))
})
