/**
 * GET /api/support/lists/{listId}/rows?asOf: a list's rows as they were at a position or a
 * time, computed from its events. Property: for any position the answer is a prefix of
 * today's rows in the same order — the rows of the batches recorded up to there — and at the
 * head it is today's rows. Times, paging, and the 404 and 400 answers too.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import { eventually } from "../support/eventually.ts"
import { makeUser } from "../support/fixtures.ts"
import { allRows, awaitImport, startImport } from "../support/imports.ts"
import { call, type Client, client, SUPPORT_TOKEN, TestApp } from "../support/server.ts"

const search = (name: string) => `https://www.linkedin.com/sales/search/people?query=(${name}-${crypto.randomUUID().slice(0, 8)})`

/** Every row as of `asOf`, page by page. */
const rowsAsOf = async (api: Client, listId: string, asOf: string, limit = 500) => {
  const rows: Array<any> = []
  for (let offset = 0;; offset += limit) {
    const reply = await api.request("GET", `/api/support/lists/${listId}/rows?asOf=${encodeURIComponent(asOf)}&limit=${limit}&offset=${offset}`, {
      token: SUPPORT_TOKEN
    })
    expect(reply.status).toBe(200)
    rows.push(...reply.body.rows)
    if (offset + limit >= reply.body.total) return { rows, total: reply.body.total as number, asOf: reply.body.asOf as string }
  }
}

layer(TestApp(), { excludeTestServices: true })("rows as of a point of the log", (it) => {
  it.effect("are a prefix of today's rows for any position, today's at the head; times and paging agree", () =>
    Effect.gen(function*() {
      const api = yield* client
      const user = yield* makeUser({ credits: 2000 })
      const before = new Date(Date.now() - 60_000).toISOString()
      const first = yield* startImport(api, user.token, { url: search("asof-a"), maxResults: 60 })
      yield* awaitImport(api, user.token, first.body.runId, first.body.listId)
      // Another list's import in between, then a second import into the same list.
      const other = yield* startImport(api, user.token, { url: search("asof-other"), maxResults: 30 })
      yield* awaitImport(api, user.token, other.body.runId, other.body.listId)
      const second = yield* startImport(api, user.token, { url: search("asof-b"), maxResults: 45, listId: first.body.listId })
      yield* awaitImport(api, user.token, second.body.runId, second.body.listId)
      const listId = first.body.listId as string
      const today = yield* allRows(api, user.token, listId)
      expect(today.length).toBe(105)

      // The list's batches, from the event log: where each is and how many rows it brought.
      const batches = (yield* eventually(
        call(() => api.request("GET", `/api/support/events?listId=${listId}&type=BatchPersisted&limit=1000`, { token: SUPPORT_TOKEN })),
        (r) => r.body.events.reduce((n: number, e: any) => n + e.data.rows.length, 0) === 105,
        { timeoutMs: 30_000 }
      )).body.events.map((e: any) => ({ position: Number(e.position), rows: e.data.rows.length as number, at: e.recordedAt as string }))
      const head = Math.max(...batches.map((b: any) => b.position))
      const rowsUpTo = (position: number) => batches.filter((b: any) => b.position <= position).reduce((n: number, b: any) => n + b.rows, 0)

      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(fc.integer({ min: 0, max: head + 50 }), async (position) => {
            const answer = await rowsAsOf(api, listId, String(position))
            expect(answer.total).toBe(rowsUpTo(position))
            expect(answer.rows).toEqual(today.slice(0, answer.total))
            expect(answer.asOf).toBe(String(position))
          }),
          { numRuns: 20 }
        )
      )
      const atHead = yield* Effect.promise(() => rowsAsOf(api, listId, String(head)))
      expect(atHead.rows).toEqual(today)

      // Pages of 7 add up to the whole answer.
      const middle = batches[Math.floor(batches.length / 2)]!
      const whole = yield* Effect.promise(() => rowsAsOf(api, listId, String(middle.position)))
      expect((yield* Effect.promise(() => rowsAsOf(api, listId, String(middle.position), 7))).rows).toEqual(whole.rows)

      // Times: before the list, at a batch, now.
      expect(yield* Effect.promise(() => rowsAsOf(api, listId, before))).toEqual({ rows: [], total: 0, asOf: before })
      // A time takes the batches before the first one recorded after it (recorded: when the
      // transaction that wrote it began, so a batch can be recorded before an earlier one).
      const atBatch = yield* Effect.promise(() => rowsAsOf(api, listId, middle.at))
      const firstLater = [...batches].sort((a: any, b: any) => a.position - b.position)
        .find((b: any) => Date.parse(b.at) > Date.parse(middle.at))
      expect(atBatch.total).toBe(firstLater === undefined ? 105 : rowsUpTo(firstLater.position - 1))
      expect(atBatch.total).toBeGreaterThan(0)
      expect(atBatch.rows).toEqual(today.slice(0, atBatch.total))
      expect((yield* Effect.promise(() => rowsAsOf(api, listId, new Date().toISOString()))).rows).toEqual(today)
    }))

  it.effect("404 for a list that does not exist, 400 for a bad asOf, limit or offset", () =>
    Effect.gen(function*() {
      const api = yield* client
      const missing = yield* call(() => api.request("GET", `/api/support/lists/${crypto.randomUUID()}/rows?asOf=1`, { token: SUPPORT_TOKEN }))
      expect(missing.status).toBe(404)
      expect(missing.body).toMatchObject({ success: false, code: "LIST_NOT_FOUND" })
      const list = crypto.randomUUID()
      for (const query of ["", "asOf=yesterday", "asOf=2024-02-30", "asOf=-3", "asOf=1&limit=0", "asOf=1&limit=501", "asOf=1&offset=-1"]) {
        const reply = yield* call(() => api.request("GET", `/api/support/lists/${list}/rows?${query}`, { token: SUPPORT_TOKEN }))
        expect(reply.status, query).toBe(400)
        expect(reply.body.code, query).toBe("VALIDATION_FAILED")
      }
    }))
})
