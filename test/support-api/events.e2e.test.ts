/**
 * GET /api/support/events over a real socket: only the SUPPORT_TOKEN opens it; each filter
 * (run, user, list, stream, type — repeated or comma-separated —, time range) returns exactly
 * the events the log holds for it, and paging with `after` hands each one out once, in log
 * order; bad parameters are 400s.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { sql } from "kysely"
import { Database } from "../../src/db/Database.ts"
import { eventually } from "../support/eventually.ts"
import { makeUser } from "../support/fixtures.ts"
import { awaitImport, startImport } from "../support/imports.ts"
import { ADMIN_TOKEN, call, type Client, client, SUPPORT_TOKEN, TestApp } from "../support/server.ts"

/** Every page of a query, following `next`; the pages' sizes too. */
const allPages = (api: Client, query: string, limit: number) =>
  Effect.gen(function*() {
    const events: Array<any> = []
    const sizes: Array<number> = []
    for (let after: string | null = "";;) {
      const reply = yield* call(() =>
        api.request("GET", `/api/support/events?${query}&limit=${limit}${after ? `&after=${after}` : ""}`, { token: SUPPORT_TOKEN })
      )
      expect(reply.status).toBe(200)
      events.push(...reply.body.events)
      sizes.push(reply.body.events.length)
      after = reply.body.next
      if (after === null) return { events, sizes }
    }
  })

/** Positions of the events matching `where`, in log order (transaction, then position). */
const expected = (where: ReturnType<typeof sql>) =>
  Effect.gen(function*() {
    const db = yield* Database
    const { rows } = yield* db.query((q) =>
      sql<{ position: number }>`select position from events where ${where} order by transaction_id, position`.execute(q)
    )
    return rows.map((r) => String(r.position))
  }).pipe(Effect.orDie)

layer(TestApp(), { excludeTestServices: true })("the support event log", (it) => {
  it.effect("answers only the support token", () =>
    Effect.gen(function*() {
      const api = yield* client
      const user = yield* makeUser()
      for (const token of [undefined, user.token, ADMIN_TOKEN, `${SUPPORT_TOKEN}x`, SUPPORT_TOKEN.slice(0, -1)]) {
        for (const path of ["/api/support/events", "/api/support/projections", "/api/support/imports/run_0123456789abcdef0123"]) {
          const reply = yield* call(() => api.request("GET", path, { token }))
          expect(reply.status).toBe(401)
          expect(reply.body).toMatchObject({ success: false, code: "UNAUTHORIZED" })
        }
        const rebuild = yield* call(() => api.request("POST", "/api/support/projections/lists/rebuild", { token }))
        expect(rebuild.status).toBe(401)
      }
      expect((yield* call(() => api.request("GET", "/api/support/events", { token: SUPPORT_TOKEN }))).status).toBe(200)
    }))

  it.effect("each filter returns every matching event exactly once, in log order, across pages", () =>
    Effect.gen(function*() {
      const api = yield* client
      const alice = yield* makeUser({ credits: 1000 })
      const bob = yield* makeUser({ credits: 1000 })
      const url = `https://www.linkedin.com/sales/search/people?query=(events-${crypto.randomUUID().slice(0, 8)})`
      const runs: Array<{ runId: string; listId: string }> = []
      for (const [who, body] of [[alice, { url, maxResults: 60 }], [alice, { url: `${url}&fakeCount=30`, maxResults: 30 }], [bob, { url, maxResults: 40 }]] as const) {
        const reply = yield* startImport(api, who.token, body)
        yield* awaitImport(api, who.token, reply.body.runId, reply.body.listId)
        runs.push(reply.body)
      }
      const db = yield* Database
      const { rows: [middle] } = yield* db.query((q) =>
        sql<{ from: Date; to: Date }>`select min(recorded_at) as from, max(recorded_at) as to from events
          where correlation_id in (select import_id::text from imports where run_id = ${runs[1]!.runId})`.execute(q)
      ).pipe(Effect.orDie)
      const from = new Date(middle!.from).toISOString()
      const to = new Date(middle!.to).toISOString()
      const importOf = (runId: string) => sql`correlation_id = (select import_id::text from imports where run_id = ${runId})`

      const cases: ReadonlyArray<readonly [string, ReturnType<typeof sql>]> = [
        [`runId=${runs[0]!.runId}`, importOf(runs[0]!.runId)],
        [`userId=${alice.userId}`, sql`user_id = ${alice.userId}`],
        [`listId=${runs[2]!.listId}`, sql`data ->> 'listId' = ${runs[2]!.listId}`],
        [`streamId=credits-${bob.userId}`, sql`stream_id = ${`credits-${bob.userId}`}`],
        ["type=PageFetched", sql`type = 'PageFetched' and user_id in (${alice.userId}, ${bob.userId})`],
        ["type=CreditsCharged&type=ImportCompleted", sql`type in ('CreditsCharged', 'ImportCompleted') and user_id in (${alice.userId}, ${bob.userId})`],
        ["type=CreditsCharged,%20ImportCompleted,", sql`type in ('CreditsCharged', 'ImportCompleted') and user_id in (${alice.userId}, ${bob.userId})`],
        // Times to the millisecond, as the API shows them: `to` includes that whole millisecond.
        [`from=${from}&to=${to}`, sql`recorded_at >= ${from}::timestamptz and recorded_at < ${to}::timestamptz + interval '1 millisecond'`],
        [`userId=${bob.userId}&type=BatchPersisted`, sql`user_id = ${bob.userId} and type = 'BatchPersisted'`]
      ]
      for (const [query, where] of cases) {
        const want = yield* expected(where)
        expect(want.length).toBeGreaterThan(0)
        // Reads wait for older transactions anywhere on the server: poll until the log has caught up.
        const users = query.startsWith("type=") ? [alice.userId, bob.userId] : undefined
        const got = yield* eventually(
          allPages(api, query, 7).pipe(Effect.map((r) => ({ ...r, mine: users ? r.events.filter((e) => users.includes(e.metadata?.userId)) : r.events }))),
          (r) => r.mine.length >= want.length,
          { timeoutMs: 30_000, intervalMs: 100 }
        )
        expect(got.mine.map((e) => e.position), query).toEqual(want)
        expect(got.sizes.slice(0, -1).every((n) => n === 7), query).toBe(true)
        expect(got.sizes.at(-1)!, query).toBeLessThanOrEqual(7)
      }

      // What an event carries: the stored shape, its metadata and place.
      const { events: [first] } = yield* allPages(api, `runId=${runs[0]!.runId}&type=ImportRequested`, 10)
      expect(first).toMatchObject({
        type: "ImportRequested",
        streamId: expect.stringMatching(/^import-/),
        version: 1,
        data: { url, maxResults: 60, userId: alice.userId, listId: runs[0]!.listId },
        metadata: { userId: alice.userId, correlationId: expect.any(String) }
      })
      expect(Number.isNaN(Date.parse(first.recordedAt))).toBe(false)

      // An unknown run has no events.
      const none = yield* call(() => api.request("GET", "/api/support/events?runId=run_0000000000000000nothing", { token: SUPPORT_TOKEN }))
      expect(none.body).toEqual({ events: [], next: null })
    }))

  it.effect("a follower that passes the last position it saw gets what comes next, and nothing twice", () =>
    Effect.gen(function*() {
      const api = yield* client
      const user = yield* makeUser({ credits: 1000 })
      const page = (after?: string) =>
        call(() => api.request("GET", `/api/support/events?userId=${user.userId}${after ? `&after=${after}` : ""}`, { token: SUPPORT_TOKEN }))
      const before = yield* eventually(page(), (r) => r.body.events.length > 0)
      expect(before.body.next).toBeNull()
      const last = before.body.events.at(-1).position
      const url = `https://www.linkedin.com/sales/search/people?query=(follow-${crypto.randomUUID().slice(0, 8)})`
      const reply = yield* startImport(api, user.token, { url, maxResults: 25 })
      yield* awaitImport(api, user.token, reply.body.runId, reply.body.listId)
      const later = yield* eventually(page(last), (r) => r.body.events.some((e: any) => e.type === "CreditsRefunded"))
      const seen = [...before.body.events, ...later.body.events].map((e: any) => e.eventId)
      expect(new Set(seen).size).toBe(seen.length)
      expect(later.body.events[0].type).toBe("ListCreated")
    }))

  describe("bad parameters", () => {
    it.effect("are 400s naming the parameter, and an unknown position is INVALID_AFTER", () =>
      Effect.gen(function*() {
        const api = yield* client
        for (const [query, path] of [["limit=0", "limit"], ["limit=1001", "limit"], ["userId=nope", "userId"], ["runId=123", "runId"], ["from=yesterday", "from"], ["to=2024-02-30", "to"]]) {
          const reply = yield* call(() => api.request("GET", `/api/support/events?${query}`, { token: SUPPORT_TOKEN }))
          expect(reply.status, query).toBe(400)
          expect(reply.body.code, query).toBe("VALIDATION_FAILED")
          expect(reply.body.details.map((d: any) => d.path), query).toEqual([path])
        }
        for (const after of ["abc", "99999999999", "-1"]) {
          const reply = yield* call(() => api.request("GET", `/api/support/events?after=${after}`, { token: SUPPORT_TOKEN }))
          expect(reply.status, after).toBe(400)
          expect(reply.body.code, after).toBe("INVALID_AFTER")
        }
      }))
  })
})

layer(TestApp({ SUPPORT_TOKEN: "" }), { excludeTestServices: true })("the support API without SUPPORT_TOKEN", (it) => {
  it.effect("is off: every token is refused, and the answer says why", () =>
    Effect.gen(function*() {
      const api = yield* client
      for (const token of [undefined, "", SUPPORT_TOKEN, ADMIN_TOKEN]) {
        const reply = yield* call(() => api.request("GET", "/api/support/projections", { token }))
        expect(reply.status).toBe(401)
        expect(reply.body.code).toBe("UNAUTHORIZED")
      }
      const reply = yield* call(() => api.request("GET", "/api/support/events", { token: SUPPORT_TOKEN }))
      expect(reply.body.error).toMatch(/SUPPORT_TOKEN is not set/)
    }))
})
