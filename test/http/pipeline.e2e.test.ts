/**
 * Imports end to end over HTTP with the local engine and the fake lead source:
 * POST, rows streaming into the list, the import ending, and every invariant of
 * rows, credits and dedupe — for each case the issue names.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { fakeSearchPeople } from "../../src/leads/FakeLeadSource.ts"
import { makeUser } from "../support/fixtures.ts"
import { allRows, awaitImport, expectImportInvariants, personOf, startImport } from "../support/imports.ts"
import { call, client, TestApp } from "../support/server.ts"

const search = (name: string, extra = "") =>
  `https://www.linkedin.com/sales/search/people?query=(keywords%3A${encodeURIComponent(name)}-${crypto.randomUUID().slice(0, 8)})${extra}`

/** The people an import of `url` should bring, in order, for a user with no other lists. */
const expectedPeople = (url: string, max: number) => fakeSearchPeople(url).slice(0, max).map(personOf)

const runImport = (token: string, body: Record<string, unknown>) =>
  Effect.gen(function*() {
    const api = yield* client
    const reply = yield* startImport(api, token, body)
    expect(reply.status, JSON.stringify(reply.body)).toBe(200)
    const { status, rowCounts } = yield* awaitImport(api, token, reply.body.runId, reply.body.listId)
    yield* expectImportInvariants(status)
    const rows = yield* allRows(api, token, reply.body.listId)
    return { reply: reply.body, status, rowCounts, rows }
  })

layer(TestApp(), { excludeTestServices: true })("imports end to end", (it) => {
  const caps: ReadonlyArray<[string, number]> = [
    ["a cap below one page", 7],
    ["a cap that is not a multiple of 25", 60],
    ["a cap of several pages", 130]
  ]
  it.effect.each(caps)("%s: exactly maxResults rows, no overshoot, the rest refunded", ([, cap]) =>
    Effect.gen(function*() {
      const api = yield* client
      const user = yield* makeUser({ credits: 5000 })
      const url = search("cap")
      const { status, rows } = yield* runImport(user.token, { url, maxResults: cap })
      expect(status).toMatchObject({ status: "completed", completionReason: "cap_reached", leadsImported: cap, creditsRefunded: 0 })
      expect(rows.map(personOf)).toEqual(expectedPeople(url, cap))
      expect(rows.every((r) => r.runId === status.runId && r.source === "sales_nav")).toBe(true)
      const credits = yield* call(() => api.request("GET", "/api/credits", { token: user.token }))
      expect(credits.body).toEqual({ balance: 5000 - cap, reserved: 0, available: 5000 - cap })
    }))

  it.effect("a search smaller than the cap: imports it all, refunds the rest", () =>
    Effect.gen(function*() {
      const user = yield* makeUser({ credits: 1000 })
      const url = search("small", "&fakeCount=30")
      const { status, rows } = yield* runImport(user.token, { url, maxResults: 100 })
      expect(status).toMatchObject({
        status: "completed",
        completionReason: "search_exhausted",
        totalAvailable: 30,
        leadsImported: 30,
        creditsCharged: 30,
        creditsRefunded: 70
      })
      expect(rows.map(personOf)).toEqual(expectedPeople(url, 30))
    }))

  it.effect("an empty search: nothing imported, everything refunded", () =>
    Effect.gen(function*() {
      const api = yield* client
      const user = yield* makeUser({ credits: 100 })
      const { status, rows } = yield* runImport(user.token, { url: search("empty", "&fakeCount=0"), maxResults: 100 })
      expect(status).toMatchObject({ status: "completed", completionReason: "search_exhausted", leadsImported: 0, creditsRefunded: 100, pagesFetched: 1 })
      expect(rows).toEqual([])
      const credits = yield* call(() => api.request("GET", "/api/credits", { token: user.token }))
      expect(credits.body).toEqual({ balance: 100, reserved: 0, available: 100 })
    }))

  it.effect("credits below the request: wasCapped, and the import stops at what was affordable", () =>
    Effect.gen(function*() {
      const user = yield* makeUser({ credits: 30 })
      const { reply, status } = yield* runImport(user.token, { url: search("capped"), maxResults: 100 })
      expect(reply).toMatchObject({ maxResults: 30, wasCapped: true })
      expect(status).toMatchObject({ requested: 100, maxResults: 30, wasCapped: true, leadsImported: 30, creditsRefunded: 0 })
    }))

  it.effect("a search the provider stops early: upstream_truncated, what came is imported, the rest refunded", () =>
    Effect.gen(function*() {
      const user = yield* makeUser({ credits: 1000 })
      const url = search("truncated", "&fakeCount=900&fakeStopAfter=60")
      const { status, rows } = yield* runImport(user.token, { url, maxResults: 200 })
      expect(status).toMatchObject({
        status: "completed",
        completionReason: "upstream_truncated",
        totalAvailable: 900,
        leadsImported: 60,
        creditsRefunded: 140
      })
      expect(rows.map(personOf)).toEqual(expectedPeople(url, 200))
    }))

  it.effect("a whole search: 100 pages, the people Sales Navigator lets us reach, repeats across pages skipped", () =>
    Effect.gen(function*() {
      const user = yield* makeUser({ credits: 5000 })
      const url = search("everyone")
      const { status, rows } = yield* runImport(user.token, { url })
      const reachable = fakeSearchPeople(url)
      expect(status).toMatchObject({ status: "completed", completionReason: "reachable_limit", pagesFetched: 100, leadsFetched: 2500 })
      expect(status.leadsImported).toBe(reachable.length)
      expect(status.skippedDuplicate).toBe(2500 - reachable.length)
      expect(rows.map(personOf)).toEqual(reachable.map(personOf))
    }), 180_000)

  describe("the same URL imported twice, into two lists", () => {
    it.effect("skipExistingCustomers, a search the first import exhausted: the second imports 0 and refunds all", () =>
      Effect.gen(function*() {
        const user = yield* makeUser({ credits: 5000 })
        const url = search("twice", "&fakeCount=40")
        const first = yield* runImport(user.token, { url, maxResults: 100 })
        expect(first.status.leadsImported).toBe(40)
        const second = yield* runImport(user.token, { url, maxResults: 100 })
        expect(second.reply.listId).not.toBe(first.reply.listId)
        expect(second.status).toMatchObject({ leadsImported: 0, skippedExisting: 40, creditsCharged: 0, creditsRefunded: 100 })
      }))

    it.effect("skipExistingCustomers, a larger search: the second imports the next people, none already in a list", () =>
      Effect.gen(function*() {
        const user = yield* makeUser({ credits: 5000 })
        const url = search("next")
        const first = yield* runImport(user.token, { url, maxResults: 50 })
        const second = yield* runImport(user.token, { url, maxResults: 50 })
        expect(second.status).toMatchObject({ leadsImported: 50, skippedExisting: 50 })
        const firstPeople = new Set(first.rows.map(personOf))
        expect(second.rows.some((r) => firstPeople.has(personOf(r)))).toBe(false)
        expect(second.rows.map(personOf)).toEqual(fakeSearchPeople(url).slice(50, 100).map(personOf))
      }))

    it.effect("skipExistingCustomers false: the second imports the same people again", () =>
      Effect.gen(function*() {
        const user = yield* makeUser({ credits: 5000 })
        const url = search("again")
        const first = yield* runImport(user.token, { url, maxResults: 40 })
        const second = yield* runImport(user.token, { url, maxResults: 40, skipExistingCustomers: false })
        expect(second.status).toMatchObject({ leadsImported: 40, skippedExisting: 0 })
        expect(second.rows.map(personOf)).toEqual(first.rows.map(personOf))
      }))

    it.effect("into the same list: nothing is imported twice", () =>
      Effect.gen(function*() {
        const user = yield* makeUser({ credits: 5000 })
        const url = search("same list")
        const first = yield* runImport(user.token, { url, maxResults: 30 })
        const second = yield* runImport(user.token, { url, maxResults: 30, listId: first.reply.listId, skipExistingCustomers: false })
        expect(second.status.skippedDuplicate).toBeGreaterThanOrEqual(30)
        expect(second.rows.length).toBe(60)
        expect(new Set(second.rows.map(personOf)).size).toBe(60)
      }))
  })
})

layer(TestApp({ FAKE_PAGE_LATENCY_MS: "40" }), { excludeTestServices: true })("rows stream in", (it) => {
  it.effect("rows appear page by page while the import runs", () =>
    Effect.gen(function*() {
      const user = yield* makeUser({ credits: 1000 })
      const { status, rowCounts } = yield* runImport(user.token, { url: search("stream"), maxResults: 200 })
      expect(status.leadsImported).toBe(200)
      // Several intermediate counts were observed, each growing by about a page.
      expect(rowCounts.length).toBeGreaterThanOrEqual(4)
      for (let i = 1; i < rowCounts.length; i++) expect(rowCounts[i]!).toBeGreaterThan(rowCounts[i - 1]!)
      expect(rowCounts.at(-1)).toBe(200)
    }))
})

layer(TestApp({ FAKE_RESTRICTED_AFTER_PAGES: "2" }), { excludeTestServices: true })("a restricted account", (it) => {
  it.effect("ends the import failed after what it got, and refunds the rest", () =>
    Effect.gen(function*() {
      const api = yield* client
      const user = yield* makeUser({ credits: 500 })
      const { status } = yield* runImport(user.token, { url: search("restricted"), maxResults: 200 })
      expect(status).toMatchObject({ status: "failed", pagesFetched: 2 })
      expect(status.error).toContain("account_restricted")
      expect(status.leadsImported).toBeGreaterThan(0)
      expect(status.creditsRefunded).toBe(200 - status.leadsImported)
      const credits = yield* call(() => api.request("GET", "/api/credits", { token: user.token }))
      expect(credits.body).toEqual({ balance: 500 - status.leadsImported, reserved: 0, available: 500 - status.leadsImported })
    }))
})

layer(TestApp({ FAKE_TRANSIENT_ERROR_RATE: "0.3" }), { excludeTestServices: true })("a flaky provider", (it) => {
  it.effect("429s and 5xx are retried: the import completes as if nothing happened", () =>
    Effect.gen(function*() {
      const user = yield* makeUser({ credits: 500 })
      const url = search("flaky")
      const { status, rows } = yield* runImport(user.token, { url, maxResults: 60 })
      expect(status).toMatchObject({ status: "completed", leadsImported: 60 })
      expect(rows.map(personOf)).toEqual(expectedPeople(url, 60))
    }), 120_000)
})
