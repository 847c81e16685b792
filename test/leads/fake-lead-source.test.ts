/**
 * The fake people search is what every other test imports from, so its promises are
 * pinned here: determinism, ~10% overlap between searches, sizes, page repeats that
 * lose no one, people without ids, and reproducible faults.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import type { Lead } from "../../events/lead.ts"
import {
  fakePerson,
  FakeLeadSource,
  fakeSearchPeople,
  makeFakeLeadSource,
  POPULATION_SIZE,
  fakeOptionsConfig,
  SERVICE_PAGE_LATENCY_MS
} from "../../src/leads/FakeLeadSource.ts"
import { type LeadPage, LeadSource, LeadSourceError, MAX_REACHABLE, PAGE_SIZE } from "../../src/leads/LeadSource.ts"

const searchUrl = (keywords: string, extra = "") =>
  `https://www.linkedin.com/sales/search/people?query=(keywords:${encodeURIComponent(keywords)})&sessionId=abc${extra}`

const request = (url: string, page: number, cursor: string | null) => ({
  accountId: "account-1",
  providerAccountId: null,
  url,
  page,
  cursor
})

/** The key dedupe uses: a stable id, else name + company. */
const identity = (lead: Lead) => lead.salesNavId ?? `${lead.fullName}|${lead.currentCompany}`

/** Every page of `url`, following cursors until nextCursor is null. */
const allPages = (source: LeadSource["Service"], url: string) =>
  Effect.gen(function*() {
    const pages: Array<LeadPage> = []
    let cursor: string | null = null
    do {
      const page: LeadPage = yield* source.fetchPage(request(url, pages.length + 1, cursor))
      pages.push(page)
      cursor = page.nextCursor
    } while (cursor !== null)
    return pages
  })

const walk = (url: string, source = makeFakeLeadSource()) => Effect.runSync(allPages(source, url))

const dedupe = (leads: ReadonlyArray<Lead>) => {
  const seen = new Set<string>()
  return leads.filter((lead) => !seen.has(identity(lead)) && seen.add(identity(lead)))
}

const overlapOfSmaller = (a: ReadonlyArray<Lead>, b: ReadonlyArray<Lead>) => {
  const inA = new Set(a.map(identity))
  return b.filter((lead) => inA.has(identity(lead))).length / Math.min(a.length, b.length)
}

const keywords = fc.string({ minLength: 1, maxLength: 24 })

describe("fake lead source: searches", () => {
  it("gives the same pages for the same URL, across fresh instances", () => {
    fc.assert(
      fc.property(keywords, fc.integer({ min: 0, max: 80 }), (k, count) => {
        const url = searchUrl(k, `&fakeCount=${count}`)
        expect(walk(url)).toEqual(walk(url))
      }),
      { numRuns: 50 }
    )
    const full = searchUrl("full search")
    expect(walk(full)).toEqual(walk(full))
  })

  // Every 12th result is shared (8.3%) and chance adds about |A|*|B|/100,000 more: for
  // searches of 600 to 2,500 reachable people that is 8.3% + 0.5..2.3%, a few people of
  // noise included, well inside 5%..15%.
  it("overlaps another search by about 10% of the smaller one", () => {
    fc.assert(
      fc.property(keywords, keywords, (k1, k2) => {
        fc.pre(k1 !== k2)
        const overlap = overlapOfSmaller(fakeSearchPeople(searchUrl(k1)), fakeSearchPeople(searchUrl(k2)))
        expect(overlap).toBeGreaterThanOrEqual(0.05)
        expect(overlap).toBeLessThanOrEqual(0.15)
      }),
      { numRuns: 15 }
    )
    fc.assert(
      fc.property(keywords, fc.integer({ min: 600, max: 3000 }), fc.integer({ min: 600, max: 3000 }), (k, n1, n2) => {
        const a = fakeSearchPeople(searchUrl(k, `&fakeCount=${n1}`))
        const b = fakeSearchPeople(searchUrl(k, `&fakeCount=${n2}&x=1`))
        const overlap = overlapOfSmaller(a, b)
        expect(overlap).toBeGreaterThanOrEqual(0.05)
        expect(overlap).toBeLessThanOrEqual(0.15)
      }),
      { numRuns: 15 }
    )
  })

  it("uses the URL text as given: fakeSeed or any other change picks other people", () => {
    const a = fakeSearchPeople(searchUrl("same", "&fakeSeed=a"))
    const b = fakeSearchPeople(searchUrl("same", "&fakeSeed=b"))
    expect(overlapOfSmaller(a, b)).toBeLessThan(0.15)
    // Percent-encoded and decoded spellings are different searches (no normalisation).
    expect(fakeSearchPeople("https://x/?q=a%20b")).not.toEqual(fakeSearchPeople("https://x/?q=a b"))
  })

  it("scopes salesNavUrl to the search; the stable ids stay the same", () => {
    const a = fakeSearchPeople(searchUrl("one"))
    const b = fakeSearchPeople(searchUrl("two"))
    const bById = new Map(b.filter((l) => l.salesNavId !== null).map((l) => [l.salesNavId, l]))
    const shared = a.filter((l) => bById.has(l.salesNavId))
    expect(shared.length).toBeGreaterThan(100)
    for (const lead of shared) {
      const other = bById.get(lead.salesNavId)!
      expect(other.salesNavUrl).not.toBe(lead.salesNavUrl)
      expect({ ...other, salesNavUrl: null }).toEqual({ ...lead, salesNavUrl: null })
      expect(lead.salesNavUrl).toMatch(/^https:\/\/www\.linkedin\.com\/sales\/lead\/ACwAA\w+,NAME_SEARCH,\w+$/)
    }
  })

  it.each([0, 7, 30, 60, 2400, 2500, 3000])("a search of fakeCount=%i reports it and yields the people 100 pages reach", (n) => {
    const url = searchUrl("sized", `&fakeCount=${n}`)
    const pages = walk(url)
    const leads = pages.flatMap((p) => p.leads)
    expect(pages.every((p) => p.totalAvailable === n)).toBe(true)
    expect(pages.length).toBeLessThanOrEqual(100)
    const distinct = new Set(leads.map(identity)).size
    // Below the 100-page limit every person is reached; at it, page repeats use up some of the 2,500 results.
    if (pages.length < 100) expect(distinct).toBe(n)
    else expect(distinct).toBe(MAX_REACHABLE - (leads.length - distinct))
    expect(distinct).toBe(fakeSearchPeople(url).length)
    expect(pages.at(-1)!.nextCursor).toBeNull()
    expect(pages.slice(0, -1).every((p) => p.nextCursor !== null && p.leads.length === PAGE_SIZE)).toBe(true)
  })

  it("fakeStopAfter: the provider stops early while still reporting the whole search (truncated upstream)", () => {
    const url = searchUrl("truncated", "&fakeCount=500&fakeStopAfter=60")
    const pages = walk(url)
    expect(pages.every((p) => p.totalAvailable === 500)).toBe(true)
    expect(pages.at(-1)!.nextCursor).toBeNull()
    expect(dedupe(pages.flatMap((p) => p.leads))).toHaveLength(60)
    expect(fakeSearchPeople(url)).toHaveLength(60)
  })

  it.effect("fakeRestrictedAfter in the URL restricts that search only, whatever the configuration", () =>
    Effect.gen(function*() {
      const source = makeFakeLeadSource()
      const url = searchUrl("restricted-url", "&fakeCount=100&fakeRestrictedAfter=1")
      const page1 = yield* source.fetchPage(request(url, 1, null))
      expect(yield* Effect.flip(source.fetchPage(request(url, 2, page1.nextCursor)))).toMatchObject({
        kind: "permanent",
        code: "account_restricted"
      })
      const other = searchUrl("unrestricted", "&fakeCount=100")
      const otherPage1 = yield* source.fetchPage(request(other, 1, null))
      expect((yield* source.fetchPage(request(other, 2, otherPage1.nextCursor))).leads).toHaveLength(25)
    }))

  it("reports FAKE_LEADS_PER_SEARCH as totalAvailable when the URL does not override it", () => {
    const source = makeFakeLeadSource({ leadsPerSearch: 40 })
    const pages = walk(searchUrl("configured"), source)
    expect(pages[0]!.totalAvailable).toBe(40)
    expect(dedupe(pages.flatMap((p) => p.leads))).toEqual(fakeSearchPeople(searchUrl("configured"), { leadsPerSearch: 40 }))
  })
})

describe("fake lead source: pages", () => {
  it("pages until nextCursor is null yield exactly fakeSearchPeople, repeats aside", () => {
    fc.assert(
      fc.property(keywords, fc.integer({ min: 0, max: 400 }), (k, n) => {
        const url = searchUrl(k, `&fakeCount=${n}`)
        expect(dedupe(walk(url).flatMap((p) => p.leads))).toEqual(fakeSearchPeople(url))
      }),
      { numRuns: 40 }
    )
  })

  // As on Sales Navigator: 100 pages of 25 results, repeats included, then the search ends.
  it("repeats 1-2 people of the previous page on about 1 page in 4, and stops after 100 pages", () => {
    const url = searchUrl("overlapping pages")
    const pages = walk(url)
    const repeats = pages.slice(1).map((page, i) => {
      const previous = new Set(pages[i]!.leads.map(identity))
      const count = page.leads.filter((lead) => previous.has(identity(lead))).length
      // Repeats are exactly the tail of the previous page, at the head of this one.
      expect(page.leads.slice(0, count)).toEqual(pages[i]!.leads.slice(PAGE_SIZE - count))
      return count
    })
    expect(Math.max(...repeats)).toBeLessThanOrEqual(2)
    const overlapping = repeats.filter((r) => r > 0).length / repeats.length
    expect(overlapping).toBeGreaterThan(0.1)
    expect(overlapping).toBeLessThan(0.4)
    const total = pages.reduce((sum, p) => sum + p.leads.length, 0)
    expect(pages.length).toBe(100)
    expect(total).toBe(MAX_REACHABLE)
    expect(new Set(pages.flatMap((p) => p.leads).map(identity)).size).toBe(MAX_REACHABLE - repeats.reduce((a, b) => a + b, 0))
  })

  it.effect("rejects a cursor it did not issue, permanently", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(makeFakeLeadSource().fetchPage(request(searchUrl("x"), 2, "bm9wZQ")))
      expect(error).toBeInstanceOf(LeadSourceError)
      expect(error).toMatchObject({ kind: "permanent", code: "invalid_cursor" })
    }))

  it.effect("waits the configured latency with an interruptible sleep", () =>
    Effect.gen(function*() {
      const source = makeFakeLeadSource({ pageLatencyMs: 5_000 })
      const fiber = yield* Effect.forkChild(source.fetchPage(request(searchUrl("slow"), 1, null)))
      yield* TestClock.adjust(4_999)
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust(1)
      expect((yield* Fiber.join(fiber)).leads).toHaveLength(PAGE_SIZE)
      const interrupted = yield* Effect.forkChild(source.fetchPage(request(searchUrl("slow"), 1, null)))
      yield* Fiber.interrupt(interrupted)
      expect(Exit.hasInterrupts(interrupted.pollUnsafe()!)).toBe(true)
    }))
})

describe("fake lead source: people", () => {
  it("gives about 2% of people no stable ids, with a name + company unique in the population", () => {
    const withoutIds = new Map<string, number>()
    const ids = { salesNavId: new Set<string>(), memberUrn: new Set<string>(), publicIdentifier: new Set<string>() }
    let withIds = 0
    for (let i = 0; i < POPULATION_SIZE; i++) {
      const person = fakePerson(i)
      if (person.salesNavId === null) {
        expect([person.memberUrn, person.publicIdentifier, person.linkedinUrl, person.salesNavUrl]).toEqual([null, null, null, null])
        withoutIds.set(`${person.fullName}|${person.currentCompany}`, 0)
      } else {
        withIds++
        ids.salesNavId.add(person.salesNavId)
        ids.memberUrn.add(person.memberUrn!)
        ids.publicIdentifier.add(person.publicIdentifier!)
        expect(person.linkedinUrl).toBe(`https://www.linkedin.com/in/${person.publicIdentifier}`)
      }
    }
    expect(withoutIds.size / POPULATION_SIZE).toBeGreaterThan(0.015)
    expect(withoutIds.size / POPULATION_SIZE).toBeLessThan(0.025)
    // Unique among the id-less and not shared with anyone else either.
    for (let i = 0; i < POPULATION_SIZE; i++) {
      const person = fakePerson(i)
      const key = `${person.fullName}|${person.currentCompany}`
      if (withoutIds.has(key)) withoutIds.set(key, withoutIds.get(key)! + 1)
    }
    expect([...withoutIds.values()].every((count) => count === 1)).toBe(true)
    expect([ids.salesNavId.size, ids.memberUrn.size, ids.publicIdentifier.size]).toEqual([withIds, withIds, withIds])
  })

  it("shapes ids and names like LinkedIn's", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: POPULATION_SIZE - 1 }), (i) => {
        const person = fakePerson(i)
        expect(person.fullName).toBe(`${person.firstName} ${person.lastName}`)
        expect(person.currentRole).not.toBeNull()
        expect(person.location).not.toBeNull()
        if (person.salesNavId === null) return
        expect(person.salesNavId).toMatch(/^ACwAA[0-9A-Za-z]+$/)
        expect(person.memberUrn).toMatch(/^urn:li:member:\d+$/)
        expect(person.publicIdentifier).toMatch(/^[a-z]+-[a-z]+-[0-9a-f]{8}$/)
      })
    )
  })
})

describe("fake lead source: faults", () => {
  /** Each page retried until it succeeds: the pages and every failure met on the way. */
  const walkRetrying = (source: LeadSource["Service"], url: string) =>
    Effect.runSync(Effect.gen(function*() {
      const pages: Array<LeadPage> = []
      const failures: Array<LeadSourceError> = []
      const cursor = () => pages.at(-1)?.nextCursor ?? null
      do {
        const exit: Exit.Exit<LeadPage, LeadSourceError> = yield* Effect.exit(
          source.fetchPage(request(url, pages.length + 1, cursor()))
        )
        if (Exit.isSuccess(exit)) pages.push(exit.value)
        else failures.push(yield* Effect.flip(exit))
      } while ((pages.length === 0 || cursor() !== null) && failures.length < 10_000)
      return { pages, failures }
    }))

  it("fails some calls transiently at rate 0.3; a retried page succeeds with the same content", () => {
    const url = searchUrl("flaky")
    const { pages, failures } = walkRetrying(makeFakeLeadSource({ transientErrorRate: 0.3 }), url)
    expect(pages).toEqual(walk(url))
    // About 0.3 / 0.7 failures per page over 100 pages.
    expect(failures.length).toBeGreaterThan(15)
    expect(failures.length).toBeLessThan(120)
    expect(failures.every((f) => f.kind === "transient")).toBe(true)
    const codes = new Set(failures.map((f) => f.code))
    expect(codes).toEqual(new Set(["rate_limited", "upstream_unavailable"]))
    for (const f of failures.filter((f) => f.code === "rate_limited")) expect(f.retryAfterMs).toBeGreaterThan(0)
    // Same seed, same call sequence: the same failures.
    const again = walkRetrying(makeFakeLeadSource({ transientErrorRate: 0.3 }), url)
    expect(again.failures.map((f) => f.code)).toEqual(failures.map((f) => f.code))
    const otherSeed = walkRetrying(makeFakeLeadSource({ transientErrorRate: 0.3, seed: "other" }), url)
    expect(otherSeed.failures.map((f) => f.code)).not.toEqual(failures.map((f) => f.code))
  })

  it.effect("reads FAKE_* config; FAKE_RESTRICTED_AFTER_PAGES=2 fails page 3 permanently", () =>
    Effect.gen(function*() {
      const source = yield* LeadSource
      const url = searchUrl("restricted")
      const page1 = yield* source.fetchPage(request(url, 1, null))
      expect(page1.totalAvailable).toBe(100)
      const page2 = yield* source.fetchPage(request(url, 2, page1.nextCursor))
      for (let attempt = 0; attempt < 3; attempt++) {
        const error = yield* Effect.flip(source.fetchPage(request(url, 3, page2.nextCursor)))
        expect(error).toMatchObject({ kind: "permanent", code: "account_restricted" })
      }
    }).pipe(Effect.provide(FakeLeadSource.layerConfig.pipe(Layer.provide(ConfigProvider.layer(
      ConfigProvider.fromUnknown({ FAKE_RESTRICTED_AFTER_PAGES: "2", FAKE_LEADS_PER_SEARCH: "100", FAKE_PAGE_LATENCY_MS: "0" })
    ))))))

  it.effect("paces the service visibly unless told otherwise", () =>
    Effect.gen(function*() {
      const defaults = yield* fakeOptionsConfig.pipe(Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({}))))
      expect(defaults.pageLatencyMs).toBe(SERVICE_PAGE_LATENCY_MS)
      expect(SERVICE_PAGE_LATENCY_MS).toBeGreaterThan(0)
      const set = yield* fakeOptionsConfig.pipe(Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ FAKE_PAGE_LATENCY_MS: "0" }))))
      expect(set.pageLatencyMs).toBe(0)
    }))

  it.effect("rejects an out-of-range FAKE_TRANSIENT_ERROR_RATE at start-up", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Layer.build(FakeLeadSource.layerConfig).pipe(
        Effect.scoped,
        Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ FAKE_TRANSIENT_ERROR_RATE: "1.5" })))
      ))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(String(Exit.isFailure(exit) ? exit.cause : "")).toContain("FAKE_TRANSIENT_ERROR_RATE")
    }))
})
