/**
 * GET /api/imports: the caller's imports, newest first, filtered by status and paged, each
 * as GET /api/imports/{runId} shows it; never another user's; bad parameters are 400.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { makeUser, PEOPLE_SEARCH } from "../support/fixtures.ts"
import { awaitImport, startImport } from "../support/imports.ts"
import { call, client, TestApp } from "../support/server.ts"

const list = (token: string, query = "") => Effect.flatMap(client, (api) => call(() => api.request("GET", `/api/imports${query}`, { token })))

layer(TestApp(), { excludeTestServices: true })("GET /api/imports", (it) => {
  it.effect("newest first, each as its own status shows it; status filter and paging", () =>
    Effect.gen(function*() {
      const api = yield* client
      const user = yield* makeUser({ credits: 10_000 })
      const other = yield* makeUser({ credits: 10_000 })
      yield* startImport(api, other.token, { url: PEOPLE_SEARCH, maxResults: 5 })
      const started: Array<{ runId: string; listId: string }> = []
      // The fourth is slow, so it is still running when it is canceled.
      for (let i = 0; i < 5; i++) {
        const slow = i === 3 ? "&fakeLatencyMs=3000" : ""
        started.push((yield* startImport(api, user.token, { url: `${PEOPLE_SEARCH}&n=${i}&fakeCount=10${slow}`, maxResults: 5 })).body)
      }
      for (const s of started.slice(0, 3)) yield* awaitImport(api, user.token, s.runId, s.listId)
      const canceled = started[3]!
      expect((yield* call(() => api.request("POST", `/api/imports/${canceled.runId}/cancel`, { token: user.token }))).status).toBe(200)
      yield* awaitImport(api, user.token, started[4]!.runId, started[4]!.listId)

      const all = yield* list(user.token)
      expect(all.status).toBe(200)
      expect(all.body).toMatchObject({ total: 5, limit: 20, offset: 0, hasMore: false })
      expect(all.body.imports.map((i: { runId: string }) => i.runId)).toEqual(started.map((s) => s.runId).reverse())
      for (const entry of all.body.imports) {
        expect(entry).toEqual((yield* call(() => api.request("GET", `/api/imports/${entry.runId}`, { token: user.token }))).body)
      }

      const onlyCanceled = yield* list(user.token, "?status=canceled")
      expect(onlyCanceled.body.imports.map((i: { runId: string }) => i.runId)).toEqual([canceled.runId])
      expect(onlyCanceled.body.total).toBe(1)

      const page = yield* list(user.token, "?limit=2&offset=1")
      expect(page.body).toMatchObject({ total: 5, limit: 2, offset: 1, hasMore: true })
      expect(page.body.imports.map((i: { runId: string }) => i.runId)).toEqual(started.map((s) => s.runId).reverse().slice(1, 3))
      const last = yield* list(user.token, "?limit=2&offset=4")
      expect(last.body).toMatchObject({ total: 5, hasMore: false })
      expect(last.body.imports).toHaveLength(1)
    }))

  it.effect("a user with no imports gets an empty page; bad parameters are 400 VALIDATION_FAILED", () =>
    Effect.gen(function*() {
      const user = yield* makeUser()
      expect((yield* list(user.token)).body).toEqual({ imports: [], total: 0, limit: 20, offset: 0, hasMore: false })
      for (const query of ["?status=paused", "?limit=0", "?limit=101", "?offset=-1", "?limit=abc"]) {
        const reply = yield* list(user.token, query)
        expect(reply.status).toBe(400)
        expect(reply.body.code).toBe("VALIDATION_FAILED")
      }
      const api = yield* client
      expect((yield* call(() => api.request("GET", "/api/imports"))).status).toBe(401)
    }))
})
