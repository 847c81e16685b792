/** The Sales Navigator URL classifier: people searches and lead lists in, everything else out with a reason. */
import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import fc from "fast-check"
import { classifySalesNavUrl } from "../../src/imports/salesNavUrl.ts"

const accepted = (url: string) => {
  const r = classifySalesNavUrl(url)
  return Result.isSuccess(r) ? r.success : undefined
}
const rejection = (url: string) => {
  const r = classifySalesNavUrl(url)
  return Result.isFailure(r) ? r.failure : undefined
}

describe("classifySalesNavUrl", () => {
  it.each([
    ["https://www.linkedin.com/sales/search/people?query=(keywords%3Acto)&sessionId=abc%3D%3D", "people_search"],
    ["https://linkedin.com/sales/search/people?savedSearchId=123", "people_search"],
    ["https://www.linkedin.com/sales/search/people/?query=(spellCorrectionEnabled%3Atrue)", "people_search"],
    ["https://WWW.LinkedIn.com/sales/search/people?query=x", "people_search"],
    ["https://www.linkedin.com/sales/lists/people/7012345678901234567?sortCriteria=CREATED_TIME", "lead_list"],
    ["  https://www.linkedin.com/sales/search/people?query=x  ", "people_search"]
  ])("accepts %s", (url, kind) => {
    const r = accepted(url)
    expect(r?.kind).toBe(kind)
    // Never re-encoded: the caller's string (trimmed) is what gets searched.
    expect(r?.url).toBe(url.trim())
  })

  it.each([
    ["https://www.linkedin.com/sales/search/company?query=x", "company/account"],
    ["https://www.linkedin.com/sales/company/1234", "company/account"],
    ["https://www.linkedin.com/sales/lists/company/123", "company/account"],
    ["https://www.linkedin.com/sales/accounts/insights", "company/account"],
    ["https://www.linkedin.com/search/results/people/?keywords=cto", "classic LinkedIn search"],
    ["https://www.linkedin.com/in/someone", "not a Sales Navigator URL"],
    ["https://www.linkedin.com/sales/lead/ACwAAA,NAME_SEARCH,xyz", "no /people segment"],
    ["https://www.linkedin.com/sales/home", "no /people segment"],
    ["http://www.linkedin.com/sales/search/people?query=x", "https"],
    ["https://evil.example.com/sales/search/people?query=x", "must be on linkedin.com"],
    ["https://linkedin.com.evil.io/sales/search/people", "must be on linkedin.com"],
    ["https://user:pw@www.linkedin.com/sales/search/people", "credentials"],
    ["https://www.linkedin.com:8443/sales/search/people", "port"],
    ["not a url", "not a valid URL"],
    ["", "not a valid URL"],
    ["javascript:alert(1)", "https"]
  ])("rejects %s (%s)", (url, reason) => {
    expect(rejection(url)).toContain(reason)
  })

  it("every rejection tells the caller what to pass instead", () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.webUrl()), (url) => {
      const r = classifySalesNavUrl(url)
      if (Result.isFailure(r)) expect(r.failure).toContain("linkedin.com/sales/search/people")
    }))
  })

  it("accepts any people search path under /sales/ on linkedin.com, whatever the query", () => {
    fc.assert(fc.property(
      fc.constantFrom("www.linkedin.com", "linkedin.com"),
      fc.constantFrom("/sales/search/people", "/sales/lists/people/123", "/sales/search/people/"),
      fc.webQueryParameters(),
      (host, path, query) => {
        expect(accepted(`https://${host}${path}?${query}`)).toBeDefined()
      }
    ))
  })

  it("rejects every other host, whatever the path", () => {
    fc.assert(fc.property(fc.domain(), fc.webPath(), (domain, path) => {
      fc.pre(domain !== "linkedin.com" && domain !== "www.linkedin.com")
      expect(accepted(`https://${domain}/sales/search/people${path}`)).toBeUndefined()
    }))
  })
})
