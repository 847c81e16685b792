/**
 * Load: 200 POSTs at once from 20 users with random balances — one with none, one whose
 * balance is exactly one import's cap, one whose balance is exactly what all its requests ask —
 * while the imports they start run (local engine, the fake source at 5 ms a page). The limiter
 * is set to bursts of 8 (then one every 10 s), so each user's tenth request meets it.
 *
 * Every answer is 200, 402 or 429 — no 5xx. Every user's credits agree three ways — folded
 * from their credit stream, the credit_accounts / credit_holds projections, and /api/credits —
 * while the imports run (checked over and over) and once all have ended: nothing reserved
 * past what was granted, every 200 one reservation of exactly its maxResults, every import
 * charged for the rows it put in its list and refunded exactly once, nothing left reserved.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import fc from "fast-check"
import { sql } from "kysely"
import { Database } from "../../src/db/Database.ts"
import { creditLedger, creditLedgers, ledgerProblems } from "../support/credit-ledger.ts"
import { makeUser } from "../support/fixtures.ts"
import { call, client, TestApp } from "../support/server.ts"

const USERS = 20
const REQUESTS_PER_USER = 10
const BURST = 8
const PER_MINUTE = 6
const SEED = Number(process.env.LOAD_SEED ?? Date.now() % 1_000_000)

interface Planned {
  readonly balance: number
  /** maxResults of each request, and how many leads each request's search has. */
  readonly requests: ReadonlyArray<{ readonly maxResults: number; readonly fakeCount: number }>
}

const request = fc.record({ maxResults: fc.integer({ min: 1, max: 60 }), fakeCount: fc.integer({ min: 0, max: 40 }) })
const requests = fc.array(request, { minLength: REQUESTS_PER_USER, maxLength: REQUESTS_PER_USER })

/** Users 0–2 are the edges (no credits; exactly one cap; exactly every request's cap), the rest random. */
const plan: fc.Arbitrary<ReadonlyArray<Planned>> = fc.tuple(
  requests,
  fc.integer({ min: 1, max: 60 }),
  requests,
  fc.array(fc.record({ balance: fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 4, arbitrary: fc.integer({ min: 1, max: 600 }) }), requests }), {
    minLength: USERS - 3,
    maxLength: USERS - 3
  })
).map(([none, cap, every, rest]) => [
  { balance: 0, requests: none },
  { balance: cap, requests: Array.from({ length: REQUESTS_PER_USER }, (_, i) => ({ maxResults: cap, fakeCount: i * 4 })) },
  { balance: every.reduce((sum, r) => sum + r.maxResults, 0), requests: every },
  ...rest
])

const search = (fakeCount: number) =>
  `https://www.linkedin.com/sales/search/people?query=(load-${crypto.randomUUID().slice(0, 8)})&fakeCount=${fakeCount}`

const importsRunning = Effect.flatMap(Database, (db) =>
  db.query((q) =>
    q.selectFrom("imports").select((eb) => eb.fn.countAll<number>().as("n")).where("status", "in", ["queued", "running"]).executeTakeFirstOrThrow()
  )).pipe(Effect.map((r) => Number(r.n)), Effect.orDie)

layer(TestApp({ FAKE_PAGE_LATENCY_MS: "5", IMPORT_RATE_PER_MINUTE: String(PER_MINUTE), IMPORT_RATE_BURST: String(BURST) }), {
  excludeTestServices: true
})("load", (it) => {
  it.effect(`${USERS * REQUESTS_PER_USER} concurrent POSTs from ${USERS} users while imports run: no 5xx, every credit accounted for (seed ${SEED})`, () =>
    Effect.gen(function*() {
      const api = yield* client
      const planned = fc.sample(plan, { seed: SEED, numRuns: 1 })[0]!
      const users = yield* Effect.forEach(planned, (p) => Effect.map(makeUser({ credits: p.balance }), (u) => ({ ...u, ...p })))

      // Checked over and over while the imports run: the ledger three ways. What is wrong is collected, asserted at the end.
      let rounds = 0
      let roundsWhileRunning = 0
      const problems: Array<string> = []
      const checkAll = Effect.gen(function*() {
        const running = yield* importsRunning
        const ledgers = yield* creditLedgers(users.map((u) => u.userId))
        for (const user of users) {
          problems.push(...ledgerProblems(ledgers.get(user.userId)!).map((p) => `user ${user.userId}: ${p}`))
          const credits = (yield* call(() => api.request("GET", "/api/credits", { token: user.token }))).body
          const { balance, reserved, available } = credits
          if (available !== balance - reserved || available < 0 || reserved < 0 || balance > user.balance) {
            problems.push(`user ${user.userId}: /api/credits ${JSON.stringify(credits)} (granted ${user.balance})`)
          }
        }
        rounds++
        if (running > 0) roundsWhileRunning++
      })
      const monitor = yield* Effect.forkChild(Effect.forever(Effect.andThen(checkAll, Effect.sleep("500 millis"))))

      const started = Date.now()
      const answers = yield* call(() =>
        Promise.all(users.flatMap((user) =>
          user.requests.map(async (r) => {
            const reply = await api.request("POST", "/api/lists/import-sales-nav", {
              token: user.token,
              json: { url: search(r.fakeCount), maxResults: r.maxResults }
            })
            return { user, requested: r.maxResults, status: reply.status, body: reply.body, retryAfter: reply.headers.get("retry-after") }
          })
        ))
      )
      const burstSeconds = (Date.now() - started) / 1000
      expect(answers).toHaveLength(USERS * REQUESTS_PER_USER)
      for (const a of answers) {
        expect([200, 402, 429], JSON.stringify(a.body)).toContain(a.status)
        if (a.status === 200) {
          expect(a.body.maxResults).toBeGreaterThan(0)
          expect(a.body.maxResults).toBeLessThanOrEqual(a.requested)
          expect(a.body.wasCapped).toBe(a.body.maxResults < a.requested)
        } else {
          expect(a.body).toMatchObject({ success: false, code: a.status === 402 ? "INSUFFICIENT_CREDITS" : "RATE_LIMITED" })
        }
        if (a.status === 429) expect(Number(a.retryAfter)).toBeGreaterThanOrEqual(1)
      }

      // Wait for every import to end (the monitor keeps checking meanwhile).
      const deadline = Date.now() + 240_000
      while ((yield* importsRunning) > 0) {
        if (Date.now() > deadline) throw new Error("imports still running after 240 s")
        yield* Effect.sleep("100 millis")
      }
      yield* Fiber.interrupt(monitor)
      yield* checkAll
      expect(problems).toEqual([])
      expect(roundsWhileRunning, `${rounds} rounds of checks`).toBeGreaterThan(0)

      const db = yield* Database
      for (const user of users) {
        const mine = answers.filter((a) => a.user === user)
        const accepted = mine.filter((a) => a.status === 200)
        // The limiter: at most the burst, plus one per 10 s the burst took.
        expect(mine.filter((a) => a.status !== 429).length).toBeLessThanOrEqual(BURST + Math.ceil(burstSeconds * PER_MINUTE / 60))
        const { fold, account } = yield* creditLedger(user.userId)
        // Each 200 is one reservation of exactly its maxResults; each ended with one refund; nothing stays reserved.
        expect([...fold.holds.values()].map((h) => h.reserved).sort()).toEqual(accepted.map((a) => a.body.maxResults).sort())
        expect([...fold.holds.values()].every((h) => h.refunds === 1 && h.charged + h.refunded === h.reserved)).toBe(true)
        expect(fold.reserved).toBe(0)
        expect(fold.granted).toBe(user.balance)
        expect(account).toEqual({ granted: user.balance, charged: fold.charged, reserved: 0 })
        const credits = (yield* call(() => api.request("GET", "/api/credits", { token: user.token }))).body
        expect(credits).toEqual({ balance: user.balance - fold.charged, reserved: 0, available: user.balance - fold.charged })
        // Every credit charged is a row in a list, of the import it was charged to.
        const rows = yield* db.query((q) =>
          sql<{ import_id: string; n: number }>`select import_id, count(*)::int as n from list_rows where user_id = ${user.userId}::uuid group by import_id`
            .execute(q)
        ).pipe(Effect.orDie)
        const rowsByImport = new Map(rows.rows.map((r) => [r.import_id, r.n]))
        for (const [importId, hold] of fold.holds) expect(rowsByImport.get(importId) ?? 0, importId).toBe(hold.charged)
      }
      // The edges: no credits, only refusals; an exact cap, taken whole by the first import.
      expect(answers.filter((a) => a.user === users[0]).every((a) => a.status === 402 || a.status === 429)).toBe(true)
      expect(answers.some((a) => a.user === users[1] && a.status === 200 && a.body.maxResults === users[1]!.balance && !a.body.wasCapped))
        .toBe(true)
      console.log(`load (seed ${SEED}): ${answers.length} POSTs in ${burstSeconds.toFixed(1)} s: ` +
        `${[200, 402, 429].map((s) => `${answers.filter((a) => a.status === s).length}×${s}`).join(", ")}; ` +
        `${rounds} rounds of ledger checks, ${roundsWhileRunning} while imports ran`)
    }), 300_000)
})
