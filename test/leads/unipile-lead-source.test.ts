/**
 * The Unipile adapter against a local stub of Unipile. One contract suite runs for both
 * API versions (the request, the mapping of documented payloads, paging that is checked
 * rather than trusted, the end of a search, text cleaning, errors and retry delays);
 * then what only one version does; then the LEAD_SOURCE / UNIPILE_API_VERSION switch.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Layer, Redacted } from "effect"
import { FetchHttpClient } from "effect/http"
import type { Lead } from "../../events/lead.ts"
import { LeadSourceLive } from "../../src/leads/index.ts"
import { type LeadPage, LeadSource, type LeadSourceError, type PageRequest } from "../../src/leads/LeadSource.ts"
import { makeUnipileLeadSource, type UnipileApiVersion, unipileBaseUrl } from "../../src/leads/UnipileLeadSource.ts"
import { type ErrorFixtures, fixture, json, type Received, type Reply, stubUnipile, type SuccessFixture } from "./unipile-stub.ts"

const ACCOUNT = "unipile-acc-123"
const SALES_NAV_URL =
  "https://www.linkedin.com/sales/search/people?query=(filters%3AList((type%3AREGION%2Cvalues%3AList((id%3A105015875)))))&sessionId=Ab%2B%3D%3D"
const LIST_ID = "7123456789012345678"
const LIST_URL = `https://www.linkedin.com/sales/lists/people/${LIST_ID}?sortCriteria=CREATED_TIME&sortOrder=DESCENDING`

const request = (page = 1, cursor: string | null = null, url = SALES_NAV_URL): PageRequest => ({
  accountId: "our-account",
  providerAccountId: ACCOUNT,
  url,
  page,
  cursor
})

const sourceAt = (apiVersion: UnipileApiVersion, dsn: string, timeoutMs = 5_000) =>
  makeUnipileLeadSource({ dsn, apiKey: Redacted.make("test-key"), timeoutMs, apiVersion }).pipe(
    Effect.provide(FetchHttpClient.layer)
  )

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i)

// ---------------------------------------------------------------------------------
// The two versions, described the same way.

interface Version {
  readonly apiVersion: UnipileApiVersion
  readonly people: SuccessFixture
  readonly list: SuccessFixture
  readonly companies: SuccessFixture
  readonly errors: ErrorFixtures
  /** What the first item of the `people` fixture maps to. */
  readonly expectedLead: Lead
  /** Person n of a synthetic search, shaped like the fixture's item. */
  readonly person: (n: number) => Record<string, unknown>
  /** An answer serving `people` as the results from `start`; `next` is where the provider says the next page starts. */
  readonly answer: (a: { start: number; people: ReadonlyArray<unknown>; total: number | null; next: number | null }) => Reply
  /** Where a request asks the provider to start. */
  readonly requestedStart: (received: Received) => number
  /** The path and query of the request for page `page` of a people search. */
  readonly searchPath: string
  readonly searchQuery: (page: number, cursor: string | null) => Record<string, string>
  /** Where a lead list URL goes, and with what body. */
  readonly listPath: string
  readonly listBody: (url: string) => unknown
  /** A continuation made by the other version's adapter. */
  readonly foreignCursor: string
}

const base = {
  salesNavId: "ACwAAAbCdEfGhIjKlMnOpQrStUvWxYz0123456",
  memberUrn: "urn:li:member:76350001",
  publicIdentifier: "jane-doe-b876a021",
  linkedinUrl: "https://www.linkedin.com/in/jane-doe-b876a021",
  firstName: "Jane",
  lastName: "Doe",
  fullName: "Jane Doe",
  headline: "VP Sales @ Acme",
  currentRole: "VP Sales",
  currentCompany: "Acme",
  location: "Paris, Île-de-France, France"
}

/** A cursor the way Unipile v1 writes them: base64 JSON with the next page's start. */
const v1Cursor = (start: number) =>
  Buffer.from(JSON.stringify({ account_id: ACCOUNT, limit: 25, start, params: { api: "sales_navigator", category: "people" } }))
    .toString("base64")

const v1People = fixture<SuccessFixture>("v1-search-people")
const v1Item = (v1People.body.items as Array<Record<string, unknown>>)[0]!
const v1: Version = {
  apiVersion: "v1",
  people: v1People,
  list: v1People,
  companies: fixture("v1-search-companies"),
  errors: fixture("v1-errors"),
  expectedLead: { ...base, salesNavUrl: `https://www.linkedin.com/sales/lead/${base.salesNavId},NAME_SEARCH,NqOz` },
  person: (n) => ({
    ...v1Item,
    id: `ACwAAA${n}xYz`,
    name: `Person ${n}`,
    first_name: "Person",
    last_name: String(n),
    member_urn: `urn:li:member:${1000 + n}`,
    public_identifier: `person-${n}`,
    public_profile_url: `https://www.linkedin.com/in/person-${n}`,
    profile_url: `https://www.linkedin.com/sales/lead/ACwAAA${n}xYz,NAME_SEARCH,NqOz`
  }),
  answer: ({ start, people, total, next }) =>
    json(200, {
      object: "LinkedinSearch",
      items: people,
      config: { params: { api: "sales_navigator", category: "people" } },
      ...(total === null ? {} : { paging: { start, page_count: people.length, total_count: total } }),
      cursor: next === null ? null : v1Cursor(next)
    }),
  requestedStart: (received) => {
    const cursor = received.url.searchParams.get("cursor")
    return cursor === null ? 0 : (JSON.parse(Buffer.from(cursor, "base64").toString()) as { start: number }).start
  },
  searchPath: "/api/v1/linkedin/search",
  searchQuery: (_page, cursor) => ({ account_id: ACCOUNT, limit: "25", ...(cursor === null ? {} : { cursor }) }),
  listPath: "/api/v1/linkedin/search",
  listBody: (url) => ({ url }),
  foreignCursor: `unipile-v2.${Buffer.from(JSON.stringify({ o: 25, f: null, p: null })).toString("base64url")}`
}

const v2People = fixture<SuccessFixture>("v2-search-people")
const v2Item = (v2People.body.data as Array<Record<string, unknown>>)[0]!
const v2: Version = {
  apiVersion: "v2",
  people: v2People,
  list: fixture("v2-lead-list"),
  companies: fixture("v2-search-companies"),
  errors: fixture("v2-errors"),
  expectedLead: { ...base, salesNavUrl: null },
  person: (n) => ({
    ...v2Item,
    id: `ACwAAA${n}xYz`,
    member_id: String(1000 + n),
    display_name: `Person ${n}`,
    public_identifier: `person-${n}`,
    profile_url: `https://www.linkedin.com/in/person-${n}`
  }),
  answer: ({ people, total }) => json(200, { data: people, ...(total === null ? {} : { total_count: total }) }),
  requestedStart: (received) => Number(received.url.searchParams.get("offset")),
  searchPath: `/v2/${ACCOUNT}/linkedin/sales-navigator/search`,
  searchQuery: (page) => ({ offset: String((page - 1) * 25), limit: "25" }),
  listPath: `/v2/${ACCOUNT}/linkedin/sales-navigator/lead-lists/${LIST_ID}`,
  listBody: () => ({}),
  foreignCursor: v1Cursor(25)
}

/**
 * A provider holding `people` results (reporting `total` of them), 25 a page; `serve`
 * may move where an answer really starts, to play a provider that restarts or repeats.
 */
const simulate = (
  version: Version,
  { people, total = people, serve = (start) => start }: {
    people: number
    total?: number | null
    serve?: (start: number, index: number) => number
  }
) =>
(received: Received, index: number): Reply => {
  const start = serve(version.requestedStart(received), index)
  const end = Math.min(start + 25, people)
  return version.answer({
    start,
    people: range(start, end).map(version.person),
    total,
    next: end < people ? end : null
  })
}

/** Pages 1, 2, ... of a search until the cursor is null (or `maxPages`). */
const walk = (apiVersion: UnipileApiVersion, baseUrl: string, maxPages = 10) =>
  Effect.gen(function*() {
    const source = yield* sourceAt(apiVersion, baseUrl)
    const pages: Array<LeadPage> = []
    let cursor: string | null = null
    do {
      const page: LeadPage = yield* source.fetchPage(request(pages.length + 1, cursor))
      pages.push(page)
      cursor = page.nextCursor
    } while (cursor !== null && pages.length < maxPages)
    return pages
  })

/** The error page `page` (with `cursor`) meets against `reply`, and what the stub received. */
const failureFor = (version: Version, reply: (r: Received, i: number) => Reply | undefined, page = 1, cursor: string | null = null) =>
  Effect.gen(function*() {
    const stub = yield* stubUnipile(reply)
    const error: LeadSourceError = yield* Effect.flip((yield* sourceAt(version.apiVersion, stub.baseUrl)).fetchPage(request(page, cursor)))
    return { error, received: stub.received }
  })

const isWellFormed = (s: string) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s)

/** `value` with NUL and lone surrogates around every string, except the fields that say what an item is. */
const dirty = (value: unknown, key = ""): unknown =>
  typeof value === "string" && !["type", "object", "product"].includes(key)
    ? `\uDC00${value.slice(0, 3)}\u0000${value.slice(3)}\uD800`
    : Array.isArray(value)
    ? value.map((v) => dirty(v))
    : typeof value === "object" && value !== null
    ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, dirty(v, k)]))
    : value

// ---------------------------------------------------------------------------------
// The contract, for each version.

for (const version of [v1, v2]) {
  describe(`Unipile ${version.apiVersion}: requests`, () => {
    it.live("POSTs the URL untouched with the API key, 25 a page, continuing where page 1 ended", () =>
      Effect.gen(function*() {
        const stub = yield* stubUnipile(simulate(version, { people: 60 }))
        const pages = yield* walk(version.apiVersion, `${stub.baseUrl}/`, 2)
        const [one, two] = stub.received
        expect(one!.method).toBe("POST")
        expect(one!.url.pathname).toBe(version.searchPath)
        expect(Object.fromEntries(one!.url.searchParams)).toEqual(version.searchQuery(1, null))
        expect(Object.fromEntries(two!.url.searchParams)).toEqual(version.searchQuery(2, v1Cursor(25)))
        expect(two!.url.pathname).toBe(version.searchPath)
        expect(one!.headers["x-api-key"]).toBe("test-key")
        expect(one!.headers["content-type"]).toContain("application/json")
        expect(JSON.parse(one!.body)).toEqual({ url: SALES_NAV_URL })
        expect(pages).toHaveLength(2)
      }))

    it.live("sends a lead list URL where this version browses lead lists", () =>
      Effect.gen(function*() {
        const stub = yield* stubUnipile(() => json(200, version.list.body))
        const page = yield* (yield* sourceAt(version.apiVersion, stub.baseUrl)).fetchPage(request(1, null, LIST_URL))
        expect(stub.received[0]!.url.pathname).toBe(version.listPath)
        expect(JSON.parse(stub.received[0]!.body)).toEqual(version.listBody(LIST_URL))
        expect(page.leads[0]).toEqual(version.expectedLead)
        expect(page.totalAvailable).toBe((version.list.body.paging as { total_count?: number } | undefined)?.total_count ?? version.list.body.total_count)
      }))

    it.live("fails permanently without a provider account id, and sends nothing", () =>
      Effect.gen(function*() {
        const stub = yield* stubUnipile(() => json(200, {}))
        const source = yield* sourceAt(version.apiVersion, stub.baseUrl)
        for (const providerAccountId of [null, " "]) {
          const error = yield* Effect.flip(source.fetchPage({ ...request(), providerAccountId }))
          expect(error).toMatchObject({ kind: "permanent", code: "missing_provider_account" })
        }
        expect(stub.received).toHaveLength(0)
      }))
  })

  describe(`Unipile ${version.apiVersion}: answers`, () => {
    it.live("maps the documented person to a Lead and reports the total", () =>
      Effect.gen(function*() {
        expect(version.people.source).toMatch(/Unipile/)
        const stub = yield* stubUnipile(() => json(version.people.status, version.people.body))
        const page = yield* (yield* sourceAt(version.apiVersion, stub.baseUrl)).fetchPage(request())
        expect(page.leads).toEqual([version.expectedLead])
        expect(page.totalAvailable).toBe(25438)
        expect(page.nextCursor).not.toBeNull()
      }))

    it.live("follows a search to its end, 25 a page, each page reporting the total", () =>
      Effect.gen(function*() {
        const stub = yield* stubUnipile(simulate(version, { people: 53 }))
        const pages = yield* walk(version.apiVersion, stub.baseUrl)
        expect(pages.map((p) => p.leads.length)).toEqual([25, 25, 3])
        expect(new Set(pages.flatMap((p) => p.leads.map((l) => l.salesNavId))).size).toBe(53)
        expect(pages.map((p) => p.totalAvailable)).toEqual([53, 53, 53])
        expect(pages.at(-1)!.nextCursor).toBeNull()
        expect(stub.received.map(version.requestedStart)).toEqual([0, 25, 50])
      }))

    it.live("when the provider stops short of its total, ends with a null cursor and still reports that total", () =>
      Effect.gen(function*() {
        const stub = yield* stubUnipile(simulate(version, { people: 40, total: 5321 }))
        const pages = yield* walk(version.apiVersion, stub.baseUrl)
        expect(pages.flatMap((p) => p.leads)).toHaveLength(40)
        expect(pages.every((p) => p.totalAvailable === 5321)).toBe(true)
        expect(pages.at(-1)!.nextCursor).toBeNull()
      }))

    it.live("an empty page ends the search, is not an error, and keeps the total; no total reads as null", () =>
      Effect.gen(function*() {
        const stub = yield* stubUnipile((_, i) =>
          i === 0
            ? { ...version.answer({ start: 0, people: [], total: 5321, next: 25 }) }
            : version.answer({ start: 0, people: [version.person(1)], total: null, next: null })
        )
        const source = yield* sourceAt(version.apiVersion, stub.baseUrl)
        expect(yield* source.fetchPage(request())).toEqual({ leads: [], nextCursor: null, totalAvailable: 5321 })
        expect((yield* source.fetchPage(request())).totalAvailable).toBeNull()
      }))

    it.live("rejects a company search permanently", () =>
      Effect.gen(function*() {
        const { error } = yield* failureFor(version, () => json(200, version.companies.body))
        expect(error).toMatchObject({ kind: "permanent", code: "not_a_people_search" })
      }))

    it.live("cleans NUL and lone surrogates out of every string of every lead", () =>
      Effect.gen(function*() {
        const stub = yield* stubUnipile(() =>
          version.answer({ start: 0, people: [dirty(version.person(1)), dirty(version.person(2))], total: 2, next: null })
        )
        const page = yield* (yield* sourceAt(version.apiVersion, stub.baseUrl)).fetchPage(request())
        expect(page.leads).toHaveLength(2)
        const strings = page.leads.flatMap((lead) => Object.values(lead).filter((v): v is string => typeof v === "string"))
        expect(strings.length).toBeGreaterThanOrEqual(16)
        for (const s of strings) {
          expect(s.includes("\u0000")).toBe(false)
          expect(isWellFormed(s)).toBe(true)
        }
        expect(page.leads[0]!.fullName).toBe("\uFFFDPerson 1\uFFFD")
      }))

    it.live("a field holding nothing but NULs and spaces reads as missing", () =>
      Effect.gen(function*() {
        const stub = yield* stubUnipile(() =>
          version.answer({ start: 0, people: [{ ...version.person(1), headline: "\u0000 \u0000", location: "\u0000" }], total: 1, next: null })
        )
        const page = yield* (yield* sourceAt(version.apiVersion, stub.baseUrl)).fetchPage(request())
        expect(page.leads[0]).toMatchObject({ headline: null, location: null, fullName: "Person 1" })
      }))

    it.live("a 2xx body that is not the documented JSON is transient malformed_response", () =>
      Effect.gen(function*() {
        for (const body of ["<html>Bad gateway</html>", "{\"items\": [", "{\"data\": [", "{}"]) {
          const { error } = yield* failureFor(version, () => ({ status: 200, body }))
          expect(error).toMatchObject({ kind: "transient", code: "malformed_response" })
        }
      }))
  })

  describe(`Unipile ${version.apiVersion}: paging is checked, not trusted`, () => {
    it.live("stops when the provider restarts the search", () =>
      Effect.gen(function*() {
        const stub = yield* stubUnipile(simulate(version, { people: 200, serve: (start, i) => (i === 1 ? 0 : start) }))
        const error = yield* Effect.flip(walk(version.apiVersion, stub.baseUrl))
        expect(error).toMatchObject({ kind: "permanent", code: "page_repeated" })
        expect(error.message).toContain("page 2")
        expect(error.message).toContain("page views")
        expect(stub.received).toHaveLength(2)
      }))

    it.live("stops when the provider serves a page twice", () =>
      Effect.gen(function*() {
        const stub = yield* stubUnipile(simulate(version, { people: 200, serve: (start, i) => (i === 2 ? start - 25 : start) }))
        const error = yield* Effect.flip(walk(version.apiVersion, stub.baseUrl))
        expect(error).toMatchObject({ kind: "permanent", code: "page_repeated" })
        expect(error.message).toContain("page 3")
        expect(stub.received).toHaveLength(3)
      }))

    it.live("refuses a continuation that leads to another page, before sending anything", () =>
      Effect.gen(function*() {
        const stub = yield* stubUnipile(simulate(version, { people: 200 }))
        const source = yield* sourceAt(version.apiVersion, stub.baseUrl)
        const first = yield* source.fetchPage(request())
        const error = yield* Effect.flip(source.fetchPage(request(3, first.nextCursor)))
        expect(error).toMatchObject({ kind: "permanent", code: "paging_mismatch" })
        expect(error.message).toMatch(/points at result 25, not 50/)
        expect(stub.received).toHaveLength(1)
      }))

    it.live("refuses a continuation made under the other API version, before sending anything", () =>
      Effect.gen(function*() {
        const { error, received } = yield* failureFor(version, () => json(200, {}), 2, version.foreignCursor)
        expect(error).toMatchObject({ kind: "permanent", code: "invalid_cursor" })
        expect(error.message).toContain("UNIPILE_API_VERSION")
        expect(received).toHaveLength(0)
      }))
  })

  describe(`Unipile ${version.apiVersion}: errors`, () => {
    it.live.each(version.errors.errors.map((e) => [e.body.type, e] as const))("%s", ([type, e]) =>
      Effect.gen(function*() {
        const { error } = yield* failureFor(version, () => json(e.status, e.body, e.headers))
        expect(error).toMatchObject(e.expect)
        expect(error.message).toContain(type)
        if (e.expect.kind === "permanent") expect(error.retryAfterMs).toBeUndefined()
        else if (e.status >= 500) expect(error.retryAfterMs).toBeGreaterThanOrEqual(24_000)
        else if (e.headers?.["retry-after"] !== undefined) expect(error.retryAfterMs).toBe(Number(e.headers["retry-after"]) * 1000)
        else expect(error.retryAfterMs).toBeGreaterThanOrEqual(48_000)
      }))

    it.live("5xx waits about 30 s, or the provider's longer Retry-After, at most 5 minutes", () =>
      Effect.gen(function*() {
        const cases: ReadonlyArray<readonly [number, Record<string, string>, number, number]> = [
          [500, {}, 24_000, 36_000],
          [502, {}, 24_000, 36_000],
          [503, { "retry-after": "120" }, 120_000, 120_000],
          [504, { "retry-after": "3600" }, 300_000, 300_000]
        ]
        for (const [status, headers, min, max] of cases) {
          const { error } = yield* failureFor(version, () => ({ status, body: "<html>upstream</html>", headers }))
          expect(error).toMatchObject({ kind: "transient", code: "upstream_unavailable" })
          expect(error.retryAfterMs).toBeGreaterThanOrEqual(min)
          expect(error.retryAfterMs).toBeLessThanOrEqual(max)
        }
      }))

    it.live("429 honours Retry-After in seconds or as an HTTP date, else waits about a minute", () =>
      Effect.gen(function*() {
        const seconds = (yield* failureFor(version, () => ({ status: 429, body: "", headers: { "retry-after": "7" } }))).error
        expect(seconds).toMatchObject({ kind: "transient", code: "rate_limited", retryAfterMs: 7_000 })
        const date = new Date(Date.now() + 120_000).toUTCString()
        const atDate = (yield* failureFor(version, () => ({ status: 429, body: "", headers: { "retry-after": date } }))).error
        expect(atDate.retryAfterMs).toBeGreaterThan(100_000)
        expect(atDate.retryAfterMs).toBeLessThanOrEqual(120_000)
        const bare = (yield* failureFor(version, () => ({ status: 429, body: "" }))).error
        expect(bare).toMatchObject({ kind: "transient", code: "rate_limited" })
        expect(bare.retryAfterMs).toBeGreaterThanOrEqual(48_000)
        expect(bare.retryAfterMs).toBeLessThanOrEqual(72_000)
        expect(bare.message).toContain("429")
      }))

    it.live("a 401 without a documented type blames the service's Unipile key", () =>
      Effect.gen(function*() {
        const { error } = yield* failureFor(version, () => ({ status: 401, body: "Unauthorized" }))
        expect(error).toMatchObject({ kind: "permanent", code: "provider_auth_failed" })
      }))

    it.live("connection refused is transient network", () =>
      Effect.gen(function*() {
        const closed = yield* Effect.scoped(stubUnipile(() => undefined))
        const error = yield* Effect.flip((yield* sourceAt(version.apiVersion, closed.baseUrl)).fetchPage(request()))
        expect(error).toMatchObject({ kind: "transient", code: "network" })
        expect(error.retryAfterMs).toBeUndefined()
      }))

    it.live("no answer within the timeout is transient timeout", () =>
      Effect.gen(function*() {
        const stub = yield* stubUnipile(() => undefined)
        const error = yield* Effect.flip((yield* sourceAt(version.apiVersion, stub.baseUrl, 150)).fetchPage(request()))
        expect(error).toMatchObject({ kind: "transient", code: "timeout" })
        expect(stub.received).toHaveLength(1)
      }))
  })
}

// ---------------------------------------------------------------------------------
// What only one version does.

describe("Unipile v1 only", () => {
  it.live("tolerates missing and odd fields", () =>
    Effect.gen(function*() {
      const sparse = [
        { type: "PEOPLE", name: "LinkedIn Member" },
        { type: "PEOPLE", name: "Ana Maria Silva", member_urn: 987654, public_profile_url: "https://www.linkedin.com/in/ana-silva?x=1", current_positions: [] },
        { id: "ACwAAZ", first_name: "Bo", headline: null, location: 42, current_positions: [{ company: "Co" }] },
        "not an item"
      ]
      const stub = yield* stubUnipile(() => json(200, { items: sparse, cursor: null }))
      const page = yield* (yield* sourceAt("v1", stub.baseUrl)).fetchPage(request())
      expect(page).toMatchObject({ totalAvailable: null, nextCursor: null })
      expect(page.leads).toHaveLength(3)
      expect(page.leads[0]).toMatchObject({ salesNavId: null, memberUrn: null, linkedinUrl: null, firstName: "LinkedIn", lastName: "Member", currentCompany: null })
      expect(page.leads[1]).toMatchObject({
        memberUrn: "urn:li:member:987654",
        publicIdentifier: "ana-silva",
        linkedinUrl: "https://www.linkedin.com/in/ana-silva?x=1",
        firstName: "Ana",
        lastName: "Maria Silva",
        currentRole: null
      })
      expect(page.leads[2]).toMatchObject({ salesNavId: "ACwAAZ", firstName: "Bo", lastName: "", fullName: "Bo", headline: null, location: "42", currentCompany: "Co" })
    }))

  it.live("an answer that skips ahead is refused: the results in between would be lost", () =>
    Effect.gen(function*() {
      const stub = yield* stubUnipile(simulate(v1, { people: 200, serve: (start, i) => (i === 1 ? 50 : start) }))
      const error = yield* Effect.flip(walk("v1", stub.baseUrl))
      expect(error).toMatchObject({ kind: "permanent", code: "paging_mismatch" })
      expect(error.message).toContain("starts at result 50, not 25")
    }))

  it.live("a later page without paging.start cannot be checked, so it is refused", () =>
    Effect.gen(function*() {
      const { error, received } = yield* failureFor(v1, () => json(200, { items: [v1.person(1)], cursor: null }), 2, v1Cursor(25))
      expect(error).toMatchObject({ kind: "permanent", code: "paging_mismatch" })
      expect(received).toHaveLength(1)
    }))

  it.live("a cursor it cannot read is sent as it is, and the answer's paging.start decides", () =>
    Effect.gen(function*() {
      const stub = yield* stubUnipile((r) =>
        v1.answer({ start: r.url.searchParams.get("cursor") === "opaque-good" ? 25 : 0, people: [v1.person(1)], total: 90, next: null })
      )
      const source = yield* sourceAt("v1", stub.baseUrl)
      expect((yield* source.fetchPage(request(2, "opaque-good"))).leads).toHaveLength(1)
      expect(yield* Effect.flip(source.fetchPage(request(2, "opaque-restarts")))).toMatchObject({ code: "page_repeated" })
      expect(stub.received.map((r) => r.url.searchParams.get("cursor"))).toEqual(["opaque-good", "opaque-restarts"])
    }))

  it.live("a later page without a cursor is refused before anything is sent", () =>
    Effect.gen(function*() {
      const { error, received } = yield* failureFor(v1, () => json(200, {}), 2, null)
      expect(error).toMatchObject({ kind: "permanent", code: "invalid_cursor" })
      expect(received).toHaveLength(0)
    }))

  it.live("an empty page ends the search even if a cursor comes with it", () =>
    Effect.gen(function*() {
      const stub = yield* stubUnipile(() => json(200, { items: [], paging: { start: 0, page_count: 0, total_count: 0 }, cursor: "dangling" }))
      expect(yield* (yield* sourceAt("v1", stub.baseUrl)).fetchPage(request())).toEqual({ leads: [], nextCursor: null, totalAvailable: 0 })
    }))
})

describe("Unipile v2 only", () => {
  it.live("maps a Sales Navigator profile_url, the current position and missing fields", () =>
    Effect.gen(function*() {
      const items = [
        {
          ...v2.person(1),
          profile_url: "https://www.linkedin.com/sales/lead/ACwAAA1xYz,NAME_SEARCH,NqOz",
          public_identifier: undefined,
          work_experience: [{ company: { id: "1", name: "Old Co" }, job_title: "Intern", ended_on: "01/01/2010" }]
        },
        { object: "PeopleSearchResult", id: "ACwAAZ", display_name: "LinkedIn Member", headline: null, location: 42 },
        "not an item"
      ]
      const stub = yield* stubUnipile(() => json(200, { data: items }))
      const page = yield* (yield* sourceAt("v2", stub.baseUrl)).fetchPage(request())
      expect(page.totalAvailable).toBeNull()
      expect(page.leads[0]).toMatchObject({
        salesNavUrl: "https://www.linkedin.com/sales/lead/ACwAAA1xYz,NAME_SEARCH,NqOz",
        linkedinUrl: null,
        publicIdentifier: null,
        memberUrn: "urn:li:member:1001",
        currentRole: "Intern",
        currentCompany: "Old Co"
      })
      expect(page.leads[1]).toEqual({
        salesNavId: "ACwAAZ",
        memberUrn: null,
        publicIdentifier: null,
        linkedinUrl: null,
        salesNavUrl: null,
        firstName: "LinkedIn",
        lastName: "Member",
        fullName: "LinkedIn Member",
        headline: null,
        currentRole: null,
        currentCompany: null,
        location: "42"
      })
      expect(page.leads).toHaveLength(2)
    }))

  it.live("more results than the page size is a paging mismatch", () =>
    Effect.gen(function*() {
      const { error } = yield* failureFor(v2, () => json(200, { data: range(0, 26).map(v2.person), total_count: 900 }))
      expect(error).toMatchObject({ kind: "permanent", code: "paging_mismatch" })
      expect(error.message).toContain("26 results")
    }))

  it.live("without a continuation, the offset comes from the page number", () =>
    Effect.gen(function*() {
      const stub = yield* stubUnipile(simulate(v2, { people: 200 }))
      const page = yield* (yield* sourceAt("v2", stub.baseUrl)).fetchPage(request(4, null))
      expect(stub.received[0]!.url.searchParams.get("offset")).toBe("75")
      expect(page.leads[0]!.salesNavId).toBe("ACwAAA75xYz")
    }))

  it.live("ends at Sales Navigator's 100th page whatever the total says", () =>
    Effect.gen(function*() {
      const stub = yield* stubUnipile(simulate(v2, { people: 5000 }))
      const source = yield* sourceAt("v2", stub.baseUrl)
      expect((yield* source.fetchPage(request(99, null))).nextCursor).not.toBeNull()
      expect(yield* source.fetchPage(request(100, null))).toMatchObject({ nextCursor: null, totalAvailable: 5000 })
    }))

  it.live("puts the account id in the path as one segment", () =>
    Effect.gen(function*() {
      const stub = yield* stubUnipile(() => json(200, { data: [] }))
      yield* (yield* sourceAt("v2", stub.baseUrl)).fetchPage({ ...request(), providerAccountId: "acc/1?x" })
      expect(stub.received[0]!.url.pathname).toBe("/v2/acc%2F1%3Fx/linkedin/sales-navigator/search")
    }))

  it.live("a provider/too_many_requests waits at least a minute even when its Retry-After is shorter", () =>
    Effect.gen(function*() {
      const body = { object: "Error", type: "provider/too_many_requests", status: 429, title: "Too many requests" }
      const { error } = yield* failureFor(v2, () => json(429, body, { "retry-after": "2" }))
      expect(error).toMatchObject({ kind: "transient", code: "rate_limited" })
      expect(error.retryAfterMs).toBeGreaterThanOrEqual(48_000)
    }))
})

describe("unipileBaseUrl", () => {
  it("takes a DSN as host:port (https) or as a full base URL", () => {
    expect(unipileBaseUrl("api8.unipile.com:13851")).toBe("https://api8.unipile.com:13851")
    expect(unipileBaseUrl("https://api8.unipile.com:13851/")).toBe("https://api8.unipile.com:13851")
    expect(unipileBaseUrl("http://127.0.0.1:4010")).toBe("http://127.0.0.1:4010")
  })
})

// ---------------------------------------------------------------------------------
// Configuration.

describe("LeadSourceLive", () => {
  const withEnv = <A, E>(env: Record<string, string>, use: Effect.Effect<A, E, LeadSource>) =>
    use.pipe(Effect.provide(LeadSourceLive.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(env))))), Effect.exit)
  const name = Effect.gen(function*() {
    return (yield* LeadSource).name
  })

  it.live("is the fake by default and Unipile when asked", () =>
    Effect.gen(function*() {
      expect(yield* withEnv({}, name)).toEqual(Exit.succeed("fake"))
      expect(yield* withEnv({ LEAD_SOURCE: "fake" }, name)).toEqual(Exit.succeed("fake"))
      expect(yield* withEnv({ LEAD_SOURCE: "unipile", UNIPILE_DSN: "api8.unipile.com:13851", UNIPILE_API_KEY: "k" }, name))
        .toEqual(Exit.succeed("unipile"))
    }))

  it.live("speaks Unipile v2 by default and v1 when UNIPILE_API_VERSION=v1", () =>
    Effect.gen(function*() {
      const stub = yield* stubUnipile(() => json(200, {}))
      const env = { LEAD_SOURCE: "unipile", UNIPILE_DSN: stub.baseUrl, UNIPILE_API_KEY: "k" }
      const fetch = Effect.gen(function*() {
        return yield* Effect.exit((yield* LeadSource).fetchPage(request()))
      })
      yield* withEnv(env, fetch)
      yield* withEnv({ ...env, UNIPILE_API_VERSION: "v2" }, fetch)
      yield* withEnv({ ...env, UNIPILE_API_VERSION: "v1" }, fetch)
      expect(stub.received.map((r) => r.url.pathname)).toEqual([v2.searchPath, v2.searchPath, v1.searchPath])
    }))

  it.live("fails with a config error naming what is missing or wrong", () =>
    Effect.gen(function*() {
      const noDsn = yield* withEnv({ LEAD_SOURCE: "unipile", UNIPILE_API_KEY: "k" }, name)
      expect(Exit.isFailure(noDsn) && String(noDsn.cause)).toContain("UNIPILE_DSN")
      const noKey = yield* withEnv({ LEAD_SOURCE: "unipile", UNIPILE_DSN: "api8.unipile.com:13851" }, name)
      expect(Exit.isFailure(noKey) && String(noKey.cause)).toContain("UNIPILE_API_KEY")
      const badVersion = yield* withEnv({ LEAD_SOURCE: "unipile", UNIPILE_DSN: "x:1", UNIPILE_API_KEY: "k", UNIPILE_API_VERSION: "v3" }, name)
      expect(Exit.isFailure(badVersion) && String(badVersion.cause)).toContain("UNIPILE_API_VERSION")
      const unknown = yield* withEnv({ LEAD_SOURCE: "phantombuster" }, name)
      expect(Exit.isFailure(unknown) && String(unknown.cause)).toContain("LEAD_SOURCE")
    }))
})
