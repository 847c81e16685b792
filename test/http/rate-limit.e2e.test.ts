/**
 * The import rate limit per user: a burst is allowed, then 429 RATE_LIMITED with Retry-After,
 * and a limited request reserves and writes nothing; one user's burst never limits another;
 * once Retry-After has passed (the limiter's clock is moved, not waited for) the user may
 * import again, and not well before. The limiter is one row per user in the database,
 * so it holds across service instances: two limiters over one database racing on one user
 * allow exactly the burst.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Result } from "effect"
import { sql } from "kysely"
import { Database } from "../../src/db/Database.ts"
import { ImportRateLimit } from "../../src/imports/ImportRateLimit.ts"
import { makeUser, PEOPLE_SEARCH, snapshotOf } from "../support/fixtures.ts"
import { startImport } from "../support/imports.ts"
import { client, TestApp } from "../support/server.ts"

const BURST = 4

/** One more import every 10 s: a burst of 4 is over well within that, however loaded the machine. */
const PER_MINUTE = 6

/** As if `seconds` had passed for the user's allowance (the limiter's clock is the database's). */
const letTimePass = (userId: string, seconds: number) =>
  Effect.flatMap(Database, (db) =>
    db.query((q) =>
      q.updateTable("import_rate_limits").set({ tat: sql`tat - ${seconds}::float8 * interval '1 second'` }).where("user_id", "=", userId).execute()
    )).pipe(Effect.orDie)

/** The user's allowance used up, the next import allowed in `seconds` from the database's now. */
const usedUp = (userId: string, seconds: number) =>
  Effect.flatMap(Database, (db) =>
    db.query((q) =>
      q.updateTable("import_rate_limits")
        .set({ tat: sql`now() + ${(60 / PER_MINUTE) * (BURST - 1) + seconds}::float8 * interval '1 second'` })
        .where("user_id", "=", userId).execute()
    )).pipe(Effect.orDie)

layer(TestApp({ IMPORT_RATE_PER_MINUTE: String(PER_MINUTE), IMPORT_RATE_BURST: String(BURST), FAKE_PAGE_LATENCY_MS: "20" }), { excludeTestServices: true })(
  "the import rate limit",
  (it) => {
    it.effect("a burst, then 429 with Retry-After and nothing written; other users unaffected; allowed again after the wait", () =>
      Effect.gen(function*() {
        const api = yield* client
        const busy = yield* makeUser({ credits: 10_000 })
        const other = yield* makeUser({ credits: 10_000 })
        const body = { url: PEOPLE_SEARCH, maxResults: 5 }
        for (let i = 0; i < BURST; i++) expect((yield* startImport(api, busy.token, body)).status).toBe(200)

        const before = yield* snapshotOf(busy.userId)
        const limited = yield* startImport(api, busy.token, body)
        expect(limited.status).toBe(429)
        expect(limited.body).toMatchObject({ success: false, code: "RATE_LIMITED" })
        const retryAfter = Number(limited.headers.get("retry-after"))
        expect(retryAfter).toBeGreaterThanOrEqual(1)
        expect(retryAfter).toBeLessThanOrEqual(60 / PER_MINUTE)
        // (Events keep coming from the imports the burst started: the counts of what a request creates must not move.)
        const after = yield* snapshotOf(busy.userId)
        expect({ lists: after.lists, outbox: after.outbox, holds: after.holds, imports: after.imports })
          .toEqual({ lists: before.lists, outbox: before.outbox, holds: before.holds, imports: before.imports })

        // Still refused a few seconds short of Retry-After, allowed once it has passed. The allowance is
        // first set to "used up, next in 10 s" as of now, so however long the checks above took on a
        // loaded machine, the wait is known; only the next two requests race the clock (5 s of slack).
        yield* usedUp(busy.userId, 60 / PER_MINUTE)
        const wait = Number((yield* startImport(api, busy.token, body)).headers.get("retry-after"))
        expect(wait).toBeGreaterThan(6)
        yield* letTimePass(busy.userId, wait - 6)
        expect((yield* startImport(api, busy.token, body)).status).toBe(429)
        yield* letTimePass(busy.userId, 6)
        expect((yield* startImport(api, busy.token, body)).status).toBe(200)

        // Another user's allowance is their own.
        for (let i = 0; i < BURST; i++) expect((yield* startImport(api, other.token, body)).status).toBe(200)
      }))

    it.effect("two service instances on one database: 20 racing requests of one user get exactly the burst", () =>
      Effect.gen(function*() {
        const db = yield* Database
        const user = yield* makeUser()
        // Two limiters on the same database, as two instances of the service would have.
        const limit = { perMinute: 0.001, burst: 5 }
        const instances = [ImportRateLimit.make(db, limit), ImportRateLimit.make(db, limit)]
        const results = yield* Effect.forEach(
          Array.from({ length: 20 }, (_, i) => instances[i % 2]!),
          (limiter) => Effect.result(limiter.take(user.userId)),
          { concurrency: "unbounded" }
        )
        expect(results.filter(Result.isSuccess)).toHaveLength(5)
        const refused = results.filter(Result.isFailure)
        expect(refused).toHaveLength(15)
        expect(refused.every((r) => r.failure._tag === "ImportRateLimited" && r.failure.retryAfterSeconds >= 1)).toBe(true)
      }))
  }
)
