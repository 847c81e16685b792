/**
 * The Unipile adapter against a local stub of Unipile's search endpoint: the request
 * it sends (method, path, query, key, body), how items become leads, cursor paging,
 * and which answers are transient or permanent. Also the LEAD_SOURCE switch.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Layer, Redacted } from "effect"
import { createServer, type IncomingHttpHeaders } from "node:http"
import type { AddressInfo } from "node:net"
import { LeadSourceLive } from "../../src/leads/index.ts"
import { LeadSource, type LeadSourceError, type PageRequest } from "../../src/leads/LeadSource.ts"
import { makeUnipileLeadSource, unipileBaseUrl } from "../../src/leads/UnipileLeadSource.ts"
import { FetchHttpClient } from "effect/http"

interface Received {
  readonly method: string
  readonly url: URL
  readonly headers: IncomingHttpHeaders
  readonly body: string
}
interface Reply {
  readonly status: number
  readonly body: string
  readonly headers?: Readonly<Record<string, string>>
}

/** A node:http server on an ephemeral port answering `reply` (or never, for undefined); closed with the scope. */
const stubUnipile = (reply: (request: Received, index: number) => Reply | undefined) =>
  Effect.acquireRelease(
    Effect.promise(() => {
      const received: Array<Received> = []
      const server = createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (chunk: Buffer) => chunks.push(chunk))
        req.on("end", () => {
          const request = {
            method: req.method ?? "",
            url: new URL(req.url ?? "/", "http://stub"),
            headers: req.headers,
            body: Buffer.concat(chunks).toString()
          }
          received.push(request)
          const answer = reply(request, received.length - 1)
          if (answer === undefined) return
          res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers }).end(answer.body)
        })
      })
      return new Promise<{ server: typeof server; baseUrl: string; received: Array<Received> }>((resolve) =>
        server.listen(0, "127.0.0.1", () =>
          resolve({ server, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received })
        )
      )
    }),
    ({ server }) =>
      Effect.promise(() => {
        server.closeAllConnections()
        return new Promise<void>((resolve) => server.close(() => resolve()))
      })
  )

const sourceAt = (dsn: string, timeoutMs = 5_000) =>
  makeUnipileLeadSource({ dsn, apiKey: Redacted.make("test-key"), timeoutMs }).pipe(Effect.provide(FetchHttpClient.layer))

const SALES_NAV_URL =
  "https://www.linkedin.com/sales/search/people?query=(filters%3AList((type%3AREGION%2Cvalues%3AList((id%3A105015875)))))&sessionId=Ab%2B%3D%3D"

const request = (cursor: string | null = null, page = 1): PageRequest => ({
  accountId: "our-account",
  providerAccountId: "unipile-acc-123",
  url: SALES_NAV_URL,
  page,
  cursor
})

const person = (n: number) => ({
  object: "SearchResult",
  type: "PEOPLE",
  id: `ACwAAA${n}BcDeF`,
  name: `Jane Doe${n}`,
  first_name: "Jane",
  last_name: `Doe${n}`,
  member_urn: `urn:li:member:${1000 + n}`,
  public_identifier: `jane-doe-${n}`,
  public_profile_url: `https://www.linkedin.com/in/jane-doe-${n}`,
  profile_url: `https://www.linkedin.com/sales/lead/ACwAAA${n}BcDeF,NAME_SEARCH,xY12`,
  profile_picture_url: "https://media.licdn.com/dms/image/v2/abc",
  network_distance: "DISTANCE_2",
  location: "Paris, Île-de-France, France",
  industry: "Software Development",
  headline: "VP Sales @ Acme",
  premium: true,
  open_profile: false,
  pending_invitation: false,
  current_positions: [{
    company: "Acme",
    company_id: "12345",
    role: "VP Sales",
    location: "Paris",
    tenure_at_role: { years: 2, months: 3 },
    tenure_at_company: { years: 4 }
  }]
})

const searchPage = (items: ReadonlyArray<unknown>, cursor: string | null, start = 0): Reply => ({
  status: 200,
  body: JSON.stringify({
    object: "LinkedinSearch",
    items,
    config: { params: { api: "sales_navigator", category: "people" } },
    paging: { start, page_count: items.length, total_count: 5321 },
    cursor
  })
})

const unipileError = (status: number, type: string, title: string, headers?: Record<string, string>): Reply => ({
  status,
  body: JSON.stringify({ status, type, title }),
  ...(headers === undefined ? {} : { headers })
})

/** The error `reply` produces for one page. */
const failureFor = (reply: Reply) =>
  Effect.gen(function*() {
    const stub = yield* stubUnipile(() => reply)
    const source = yield* sourceAt(stub.baseUrl)
    return yield* Effect.flip(source.fetchPage(request()))
  })

describe("Unipile lead source: the request", () => {
  it.live("POSTs the URL untouched with account_id, limit, cursor and X-API-KEY", () =>
    Effect.gen(function*() {
      const cursor = "eyJzdGFydCI6MjV9+/="
      const stub = yield* stubUnipile((_, i) => searchPage([person(i)], i === 0 ? cursor : null))
      const source = yield* sourceAt(`${stub.baseUrl}/`)
      const first = yield* source.fetchPage(request())
      yield* source.fetchPage(request(first.nextCursor, 2))
      const [one, two] = stub.received
      expect(one!.method).toBe("POST")
      expect(one!.url.pathname).toBe("/api/v1/linkedin/search")
      expect(Object.fromEntries(one!.url.searchParams)).toEqual({ account_id: "unipile-acc-123", limit: "25" })
      expect(Object.fromEntries(two!.url.searchParams)).toEqual({ account_id: "unipile-acc-123", limit: "25", cursor })
      expect(one!.headers["x-api-key"]).toBe("test-key")
      expect(one!.headers["content-type"]).toContain("application/json")
      expect(JSON.parse(one!.body)).toEqual({ url: SALES_NAV_URL })
    }))

  it.live("fails permanently without a provider account id, and sends nothing", () =>
    Effect.gen(function*() {
      const stub = yield* stubUnipile(() => searchPage([], null))
      const source = yield* sourceAt(stub.baseUrl)
      for (const providerAccountId of [null, " "]) {
        const error = yield* Effect.flip(source.fetchPage({ ...request(), providerAccountId }))
        expect(error).toMatchObject({ kind: "permanent", code: "missing_provider_account" })
      }
      expect(stub.received).toHaveLength(0)
    }))

  it("takes a DSN as host:port (https) or as a full base URL", () => {
    expect(unipileBaseUrl("api8.unipile.com:13851")).toBe("https://api8.unipile.com:13851")
    expect(unipileBaseUrl("https://api8.unipile.com:13851/")).toBe("https://api8.unipile.com:13851")
    expect(unipileBaseUrl("http://127.0.0.1:4010")).toBe("http://127.0.0.1:4010")
  })
})

describe("Unipile lead source: the answer", () => {
  it.live("maps a Sales Navigator item to a Lead", () =>
    Effect.gen(function*() {
      const stub = yield* stubUnipile(() => searchPage([person(7)], "next"))
      const page = yield* (yield* sourceAt(stub.baseUrl)).fetchPage(request())
      expect(page.totalAvailable).toBe(5321)
      expect(page.nextCursor).toBe("next")
      expect(page.leads).toEqual([{
        salesNavId: "ACwAAA7BcDeF",
        memberUrn: "urn:li:member:1007",
        publicIdentifier: "jane-doe-7",
        linkedinUrl: "https://www.linkedin.com/in/jane-doe-7",
        salesNavUrl: "https://www.linkedin.com/sales/lead/ACwAAA7BcDeF,NAME_SEARCH,xY12",
        firstName: "Jane",
        lastName: "Doe7",
        fullName: "Jane Doe7",
        headline: "VP Sales @ Acme",
        currentRole: "VP Sales",
        currentCompany: "Acme",
        location: "Paris, Île-de-France, France"
      }])
    }))

  it.live("tolerates missing and odd fields", () =>
    Effect.gen(function*() {
      const sparse = [
        { type: "PEOPLE", name: "LinkedIn Member" },
        { type: "PEOPLE", name: "Ana Maria Silva", member_urn: 987654, public_profile_url: "https://www.linkedin.com/in/ana-silva?x=1", current_positions: [] },
        { id: "ACwAAZ", first_name: "Bo", headline: null, location: 42, current_positions: [{ company: "Co" }] },
        "not an item"
      ]
      const stub = yield* stubUnipile(() => ({ status: 200, body: JSON.stringify({ items: sparse, cursor: null }) }))
      const page = yield* (yield* sourceAt(stub.baseUrl)).fetchPage(request())
      expect(page.totalAvailable).toBeNull()
      expect(page.nextCursor).toBeNull()
      expect(page.leads).toHaveLength(3)
      expect(page.leads[0]).toMatchObject({ salesNavId: null, memberUrn: null, linkedinUrl: null, firstName: "LinkedIn", lastName: "Member", fullName: "LinkedIn Member", currentCompany: null })
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

  it.live("follows cursors until the cursor is null", () =>
    Effect.gen(function*() {
      const cursors = ["c1", "c2", null]
      const stub = yield* stubUnipile((_, i) =>
        searchPage(Array.from({ length: i === 2 ? 3 : 25 }, (_, n) => person(i * 25 + n)), cursors[i] ?? null, i * 25)
      )
      const source = yield* sourceAt(stub.baseUrl)
      const leads = []
      let cursor: string | null = null
      let page = 1
      do {
        const result: { leads: ReadonlyArray<unknown>; nextCursor: string | null } = yield* source.fetchPage(request(cursor, page++))
        leads.push(...result.leads)
        cursor = result.nextCursor
      } while (cursor !== null)
      expect(leads).toHaveLength(53)
      expect(stub.received.map((r) => r.url.searchParams.get("cursor"))).toEqual([null, "c1", "c2"])
    }))

  it.live("ends the search on an empty page even if a cursor comes with it", () =>
    Effect.gen(function*() {
      const stub = yield* stubUnipile(() => searchPage([], "dangling"))
      const page = yield* (yield* sourceAt(stub.baseUrl)).fetchPage(request())
      expect(page).toMatchObject({ leads: [], nextCursor: null })
    }))

  it.live("rejects a company search permanently", () =>
    Effect.gen(function*() {
      const error = yield* failureFor(searchPage([{ type: "COMPANY", id: "103848457", name: "Acme" }], null))
      expect(error).toMatchObject({ kind: "permanent", code: "not_a_people_search" })
    }))
})

describe("Unipile lead source: failures", () => {
  it.live("429 with Retry-After in seconds or as an HTTP date: transient rate_limited with retryAfterMs", () =>
    Effect.gen(function*() {
      const seconds = yield* failureFor(unipileError(429, "errors/too_many_requests", "Too many requests", { "retry-after": "7" }))
      expect(seconds).toMatchObject({ kind: "transient", code: "rate_limited", retryAfterMs: 7_000 })
      const date = new Date(Date.now() + 120_000).toUTCString()
      const atDate = yield* failureFor(unipileError(429, "errors/too_many_requests", "Too many requests", { "retry-after": date }))
      expect(atDate).toMatchObject({ kind: "transient", code: "rate_limited" })
      expect(atDate.retryAfterMs).toBeGreaterThan(100_000)
      expect(atDate.retryAfterMs).toBeLessThanOrEqual(120_000)
      const bare = yield* failureFor({ status: 429, body: "" })
      expect(bare).toMatchObject({ kind: "transient", code: "rate_limited" })
      expect(bare.retryAfterMs).toBeUndefined()
      expect(bare.message).toContain("429")
    }))

  it.live("503 and 500 are transient upstream_unavailable", () =>
    Effect.gen(function*() {
      for (const status of [500, 502, 503]) {
        const error = yield* failureFor(unipileError(status, "errors/unexpected_error", "Service unavailable"))
        expect(error).toMatchObject({ kind: "transient", code: "upstream_unavailable" })
      }
    }))

  it.live.each([
    [403, "errors/account_restricted", "account_restricted"],
    [401, "errors/disconnected_account", "disconnected_account"],
    [403, "errors/feature_not_subscribed", "feature_not_subscribed"],
    [401, "errors/invalid_credentials", "unauthorized"],
    [401, "errors/something_new", "unauthorized"],
    [403, "errors/insufficient_privileges", "forbidden"],
    [400, "errors/invalid_parameters", "invalid_request"],
    [422, "errors/invalid_url", "invalid_request"],
    [404, "errors/resource_not_found", "not_found"],
    // A known permanent type wins over a 5xx status.
    [500, "errors/account_restricted", "account_restricted"]
  ] as const)("%i %s is permanent %s", ([status, type, code]) =>
    Effect.gen(function*() {
      const error: LeadSourceError = yield* failureFor(unipileError(status, type, "Nope"))
      expect(error).toMatchObject({ kind: "permanent", code })
      expect(error.message).toContain(type)
    }))

  it.live("a 2xx body that is not the documented JSON is transient malformed_response", () =>
    Effect.gen(function*() {
      for (const body of ["<html>Bad gateway</html>", "{\"items\": [", "{\"object\":\"LinkedinSearch\"}"]) {
        const error = yield* failureFor({ status: 200, body })
        expect(error).toMatchObject({ kind: "transient", code: "malformed_response" })
      }
    }))

  it.live("connection refused is transient network", () =>
    Effect.gen(function*() {
      const closed = yield* Effect.scoped(stubUnipile(() => undefined))
      const error = yield* Effect.flip((yield* sourceAt(closed.baseUrl)).fetchPage(request()))
      expect(error).toMatchObject({ kind: "transient", code: "network" })
    }))

  it.live("no answer within the timeout is transient timeout", () =>
    Effect.gen(function*() {
      const stub = yield* stubUnipile(() => undefined)
      const error = yield* Effect.flip((yield* sourceAt(stub.baseUrl, 150)).fetchPage(request()))
      expect(error).toMatchObject({ kind: "transient", code: "timeout" })
      expect(stub.received).toHaveLength(1)
    }))
})

describe("LeadSourceLive", () => {
  const build = (env: Record<string, string>) =>
    Effect.gen(function*() {
      const source = yield* LeadSource
      return source.name
    }).pipe(
      Effect.provide(LeadSourceLive.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(env))))),
      Effect.exit
    )

  it.live("is the fake by default and Unipile when asked", () =>
    Effect.gen(function*() {
      expect(yield* build({})).toEqual(Exit.succeed("fake"))
      expect(yield* build({ LEAD_SOURCE: "fake" })).toEqual(Exit.succeed("fake"))
      expect(yield* build({ LEAD_SOURCE: "unipile", UNIPILE_DSN: "api8.unipile.com:13851", UNIPILE_API_KEY: "k" }))
        .toEqual(Exit.succeed("unipile"))
    }))

  it.live("fails with a config error naming what is missing or wrong", () =>
    Effect.gen(function*() {
      const noDsn = yield* build({ LEAD_SOURCE: "unipile", UNIPILE_API_KEY: "k" })
      expect(Exit.isFailure(noDsn) && String(noDsn.cause)).toContain("UNIPILE_DSN")
      const noKey = yield* build({ LEAD_SOURCE: "unipile", UNIPILE_DSN: "api8.unipile.com:13851" })
      expect(Exit.isFailure(noKey) && String(noKey.cause)).toContain("UNIPILE_API_KEY")
      const unknown = yield* build({ LEAD_SOURCE: "phantombuster" })
      expect(Exit.isFailure(unknown) && String(unknown.cause)).toContain("LEAD_SOURCE")
    }))
})
