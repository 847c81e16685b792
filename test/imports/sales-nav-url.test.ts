/**
 * The Sales Navigator URL classifier against the contract's description of `url`: generated
 * URLs of every kind it names, accepted (people searches that name a search, lead lists) and
 * rejected (company and account URLs, a lead's page, the saved-searches index, a search that
 * names no search, classic searches, other hosts), each rejection saying what it is and what
 * to pass instead.
 */
import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import fc from "fast-check"
import { classifySalesNavUrl, SEARCH_PARAMETERS } from "../../src/imports/salesNavUrl.ts"

const accepted = (url: string) => {
  const r = classifySalesNavUrl(url)
  return Result.isSuccess(r) ? r.success : undefined
}
const rejection = (url: string) => {
  const r = classifySalesNavUrl(url)
  return Result.isFailure(r) ? r.failure : undefined
}

// --- generators ---

const host = fc.constantFrom("www.linkedin.com", "linkedin.com", "WWW.LinkedIn.com", "LINKEDIN.COM")
const slash = fc.constantFrom("", "/")
const token = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/)
const value = fc.stringMatching(/^[A-Za-z0-9%()._~:-]{1,30}$/)
/** Parameters that do not name a search (sessionId, viewAllFilters, ...). */
const otherParams = fc.array(
  fc.tuple(token.filter((k) => !(SEARCH_PARAMETERS as ReadonlyArray<string>).includes(k)), value).map(([k, v]) => `${k}=${v}`),
  { maxLength: 3 }
)
const query = (params: ReadonlyArray<string>) => (params.length === 0 ? "" : `?${params.join("&")}`)
const shuffled = <A>(items: fc.Arbitrary<ReadonlyArray<A>>) => items.chain((xs) => fc.shuffledSubarray([...xs], { minLength: xs.length }))

const peopleSearch = fc.record({
  host,
  slash,
  naming: fc.constantFrom(...SEARCH_PARAMETERS),
  value,
  others: otherParams
}).chain(({ host, slash, naming, value, others }) =>
  shuffled(fc.constant([`${naming}=${value}`, ...others])).map((params) => `https://${host}/sales/search/people${slash}${query(params)}`)
)

const leadList = fc.record({ host, id: fc.stringMatching(/^[0-9]{6,19}$/), slash, others: otherParams })
  .map(({ host, id, slash, others }) => `https://${host}/sales/lists/people/${id}${slash}${query(others)}`)

/** Rejected kinds, each with the words its message must contain. */
const rejectedKinds: ReadonlyArray<readonly [string, fc.Arbitrary<string>, string]> = [
  ["company search", fc.record({ host, value }).map(({ host, value }) => `https://${host}/sales/search/company?query=${value}`), "company/account"],
  ["company page", fc.record({ host, id: token }).map(({ host, id }) => `https://${host}/sales/company/${id}`), "company/account"],
  ["account list", fc.record({ host, id: token }).map(({ host, id }) => `https://${host}/sales/lists/company/${id}`), "company/account"],
  ["accounts area", fc.record({ host, id: token }).map(({ host, id }) => `https://${host}/sales/accounts/${id}`), "company/account"],
  [
    "a lead's page",
    fc.record({ host, area: fc.constantFrom("lead", "people"), id: token }).map(({ host, area, id }) =>
      `https://${host}/sales/${area}/ACwAA${id},NAME_SEARCH,abc`
    ),
    "single lead's page"
  ],
  [
    "the saved-searches index",
    fc.record({ host, rest: fc.constantFrom("", "/people", "/people/") }).map(({ host, rest }) => `https://${host}/sales/search/saved-searches${rest}`),
    "saved searches"
  ],
  [
    "a people search that names no search",
    fc.record({ host, slash, others: otherParams, empty: fc.constantFrom(...SEARCH_PARAMETERS, null) }).map(({ host, slash, others, empty }) =>
      `https://${host}/sales/search/people${slash}${query(empty === null ? others : [`${empty}=`, ...others])}`
    ),
    "names no search"
  ],
  ["the lead lists index", fc.record({ host, slash }).map(({ host, slash }) => `https://${host}/sales/lists/people${slash}`), "index of your lead lists"],
  [
    "a classic LinkedIn search",
    fc.record({ host, value }).map(({ host, value }) => `https://${host}/search/results/people/?keywords=${value}`),
    "classic LinkedIn search"
  ],
  ["another Sales Navigator page", fc.record({ host, page: fc.constantFrom("home", "inbox", "search/insights") }).map(({ host, page }) => `https://${host}/sales/${page}`), "not a Sales Navigator people search"],
  ["another host", fc.domain().filter((d) => !/^(www\.)?linkedin\.com$/i.test(d)).map((d) => `https://${d}/sales/search/people?query=x`), "must be on linkedin.com"],
  ["plain http", peopleSearch.map((u) => u.replace("https://", "http://")), "https"]
]

describe("classifySalesNavUrl", () => {
  it("accepts every people search that names a search (query, savedSearchId or recentSearchId), untouched", () => {
    fc.assert(fc.property(peopleSearch, (url) => {
      expect(accepted(url)).toEqual({ kind: "people_search", url })
      expect(accepted(`  ${url}\n`)).toEqual({ kind: "people_search", url })
    }))
  })

  it("accepts every lead list /sales/lists/people/<id>", () => {
    fc.assert(fc.property(leadList, (url) => {
      expect(accepted(url)).toEqual({ kind: "lead_list", url })
    }))
  })

  for (const [kind, urls, words] of rejectedKinds) {
    it(`rejects ${kind}, saying so and what to pass instead`, () => {
      fc.assert(fc.property(urls, (url) => {
        const message = rejection(url)
        expect(message).toContain(words)
        expect(message).toContain("linkedin.com/sales/search/people")
      }))
    })
  }

  it.each([
    ["https://www.linkedin.com/sales/people/ACwAAAB1,NAME_SEARCH,xYz1", "single lead's page"],
    ["https://www.linkedin.com/sales/search/saved-searches/people", "saved searches"],
    ["https://www.linkedin.com/sales/lists/people", "index of your lead lists"],
    ["https://www.linkedin.com/sales/search/people", "names no search"],
    ["https://www.linkedin.com/sales/search/people?sessionId=abc", "names no search"],
    ["https://www.linkedin.com/sales/foo/people", "not a Sales Navigator people search"],
    ["https://user:pw@www.linkedin.com/sales/search/people?query=x", "credentials"],
    ["https://www.linkedin.com:8443/sales/search/people?query=x", "port"],
    ["not a url", "not a valid URL"],
    ["", "not a valid URL"],
    ["javascript:alert(1)", "https"]
  ])("the reviewer's cases: rejects %s (%s)", (url, reason) => {
    expect(rejection(url)).toContain(reason)
  })

  it("anything at all is either one of the two accepted kinds or a rejection that says what to pass", () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.webUrl(), peopleSearch, leadList), (url) => {
      const r = classifySalesNavUrl(url)
      if (Result.isFailure(r)) expect(r.failure).toContain("linkedin.com/sales/search/people")
      else expect(["people_search", "lead_list"]).toContain(r.success.kind)
    }))
  })
})
