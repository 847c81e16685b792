/**
 * GET /api/support/imports/{runId}: any user's import, its status as its owner sees it, and
 * one timeline entry per recorded event, oldest first — every page's fetch, dedupe, persist
 * and charge, the cancel and the refund included.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { makeUser } from "../support/fixtures.ts"
import { awaitImport, startImport } from "../support/imports.ts"
import { call, client, SUPPORT_TOKEN, TestApp } from "../support/server.ts"
import { eventually } from "../support/eventually.ts"

const search = (name: string) => `https://www.linkedin.com/sales/search/people?query=(${name}-${crypto.randomUUID().slice(0, 8)})`

layer(TestApp(), { excludeTestServices: true })("an import's timeline for support", (it) => {
  it.effect("lists every recorded step, each page's among them, as the owner's events have them", () =>
    Effect.gen(function*() {
      const api = yield* client
      const user = yield* makeUser()
      const started = yield* startImport(api, user.token, { url: `${search("timeline")}&fakeCount=60`, maxResults: 100 })
      const { status } = yield* awaitImport(api, user.token, started.body.runId, started.body.listId)
      expect(status).toMatchObject({ status: "completed", pagesFetched: 3 })

      const reply = yield* call(() => api.request("GET", `/api/support/imports/${started.body.runId}`, { token: SUPPORT_TOKEN }))
      expect(reply.status).toBe(200)
      expect(reply.body.userId).toBe(user.userId)
      expect(reply.body.import).toEqual((yield* call(() => api.request("GET", `/api/imports/${started.body.runId}`, { token: user.token }))).body)
      const events = (yield* call(() => api.request("GET", `/api/imports/${started.body.runId}/events`, { token: user.token }))).body.events
      const timeline = reply.body.timeline as Array<{ at: string; type: string; page: number | null; summary: string }>
      expect(timeline.map((t) => t.type)).toEqual(events.map((e: any) => e.type))
      expect(timeline.map((t) => t.at)).toEqual(events.map((e: any) => e.recordedAt))
      const pages = (type: string) => timeline.filter((t) => t.type === type).map((t) => t.page)
      for (const type of ["PageFetched", "LeadsDeduped", "BatchPersisted", "CreditsCharged"]) expect(pages(type), type).toEqual([1, 2, 3])
      // The fake search repeats a person now and then: the numbers come from the recorded pages.
      expect(timeline.filter((t) => t.type === "PageFetched").map((t) => t.summary)).toEqual(
        events.filter((e: any) => e.type === "PageFetched").map((e: any) =>
          `page ${e.data.page}: ${e.data.leads.length} fetched (60 available)${e.data.nextCursor === null ? ", the last page" : ""}`
        )
      )
      expect(timeline.find((t) => t.type === "PageFetched" && t.page === 1)!.summary).toBe("page 1: 25 fetched (60 available)")
      const { leadsImported: n, creditsRefunded: refunded } = status
      expect(timeline.find((t) => t.type === "CreditsReserved")!.summary).toBe("100 credits reserved")
      expect(timeline.find((t) => t.type === "CreditsRefunded")!.summary).toBe(`${refunded} credits refunded (completed, search exhausted)`)
      expect(timeline.at(-1)!.summary).toBe(`completed, search exhausted: ${n} leads imported, ${n} credits charged, ${refunded} refunded`)
      expect(timeline.filter((t) => t.page === null).every((t) => !t.summary.startsWith("page"))).toBe(true)
    }))

  it.effect("shows a cancel: the request, the refund and the end", () =>
    Effect.gen(function*() {
      const api = yield* client
      const user = yield* makeUser()
      const started = yield* startImport(api, user.token, { url: `${search("cancel")}&fakeLatencyMs=150`, maxResults: 500 })
      yield* eventually(
        call(() => api.request("GET", `/api/imports/${started.body.runId}`, { token: user.token })),
        (r) => r.body.leadsImported > 0,
        { timeoutMs: 60_000 }
      )
      expect((yield* call(() => api.request("POST", `/api/imports/${started.body.runId}/cancel`, { token: user.token }))).status).toBe(200)
      const { status } = yield* awaitImport(api, user.token, started.body.runId, started.body.listId)
      const timeline = (yield* call(() => api.request("GET", `/api/support/imports/${started.body.runId}`, { token: SUPPORT_TOKEN })))
        .body.timeline as Array<{ type: string; summary: string }>
      const types = timeline.map((t) => t.type)
      expect(types).toContain("ImportCancelRequested")
      expect(types.indexOf("ImportCancelRequested")).toBeLessThan(types.indexOf("CreditsRefunded"))
      expect(types.at(-1)).toBe("ImportCanceled")
      expect(timeline.find((t) => t.type === "ImportCancelRequested")!.summary).toBe(`cancel requested by ${user.userId}`)
      expect(timeline.find((t) => t.type === "CreditsRefunded")!.summary)
        .toBe(`${(500 - status.creditsCharged).toLocaleString("en-US")} credits refunded (canceled)`)
    }))

  it.effect("404 for a run id no import has, 400 for one that is not a run id", () =>
    Effect.gen(function*() {
      const api = yield* client
      const missing = yield* call(() => api.request("GET", "/api/support/imports/run_0000000000000000nothing", { token: SUPPORT_TOKEN }))
      expect(missing.status).toBe(404)
      expect(missing.body).toMatchObject({ success: false, code: "IMPORT_NOT_FOUND" })
      const bad = yield* call(() => api.request("GET", "/api/support/imports/123", { token: SUPPORT_TOKEN }))
      expect(bad.status).toBe(400)
      expect(bad.body.code).toBe("VALIDATION_FAILED")
    }))
})
