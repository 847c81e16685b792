/** Identity keys: stable LinkedIn ids first, name + company (then location) only without them. */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import type { Lead } from "../../events/index.ts"
import { foldName, leadIdentity, profileSlug } from "../../src/pipeline/identity.ts"
import { lead as anyLead } from "../support/arbitraries.ts"

const lead = (overrides: Partial<Lead> = {}): Lead => ({
  salesNavId: "ACwAA123",
  memberUrn: "urn:li:member:42",
  publicIdentifier: "ada-lovelace-1",
  linkedinUrl: "https://www.linkedin.com/in/ada-lovelace-1/",
  salesNavUrl: "https://www.linkedin.com/sales/lead/ACwAA123,NAME_SEARCH,abc",
  firstName: "Ada",
  lastName: "Lovelace",
  fullName: "Ada Lovelace",
  headline: null,
  currentRole: "CTO",
  currentCompany: "Analytical Engines",
  location: "London",
  ...overrides
})

describe("leadIdentity", () => {
  it("matches by member URN, Sales Nav id and profile slug; indexes name keys too", () => {
    const id = leadIdentity(lead())
    expect(id.match).toEqual(["urn:urn:li:member:42", "snid:ACwAA123", "in:ada-lovelace-1"])
    expect(id.index).toEqual([...id.match, "nc:ada lovelace|analytical engines", "nl:ada lovelace|london"])
  })

  it("never uses the search-scoped Sales Navigator lead URL", () => {
    const a = leadIdentity(lead({ salesNavUrl: "https://www.linkedin.com/sales/lead/ACwAA123,NAME_SEARCH,one" }))
    const b = leadIdentity(lead({ salesNavUrl: "https://www.linkedin.com/sales/lead/ACwAA123,NAME_SEARCH,two" }))
    expect(a).toEqual(b)
  })

  it("normalises profile URLs: scheme, www, case, trailing slash, query, percent-encoding", () => {
    for (const url of [
      "https://www.linkedin.com/in/Ada-Lovelace-1/",
      "http://linkedin.com/in/ada-lovelace-1?trk=x",
      "https://uk.linkedin.com/in/ada%2Dlovelace%2D1#about"
    ]) {
      expect(profileSlug(url)).toBe("ada-lovelace-1")
    }
    expect(profileSlug("https://www.linkedin.com/company/acme")).toBeNull()
  })

  it("falls back to name + company, then name + location, without stable ids", () => {
    const hidden = { salesNavId: null, memberUrn: null, publicIdentifier: null, linkedinUrl: null }
    expect(leadIdentity(lead(hidden)).match).toEqual(["nc:ada lovelace|analytical engines"])
    expect(leadIdentity(lead({ ...hidden, currentCompany: null })).match).toEqual(["nl:ada lovelace|london"])
    expect(leadIdentity(lead({ ...hidden, currentCompany: null, location: null })).match).toEqual([])
    // Accents and punctuation do not split one person in two.
    expect(leadIdentity(lead({ ...hidden, fullName: "Adá  Lovelace!", currentCompany: "Analytical-Engines" })).match)
      .toEqual(["nc:ada lovelace|analytical engines"])
  })

  it("two people with the same name at the same company but different ids stay two people", () => {
    const a = leadIdentity(lead())
    const b = leadIdentity(lead({ salesNavId: "ACwAA999", memberUrn: "urn:li:member:7", publicIdentifier: "ada-2", linkedinUrl: null }))
    expect(a.match.some((k) => b.match.includes(k))).toBe(false)
  })

  it("match keys are always among the index keys, and are deterministic", () => {
    fc.assert(fc.property(anyLead, (l) => {
      const id = leadIdentity(l)
      for (const k of id.match) expect(id.index).toContain(k)
      expect(leadIdentity(l)).toEqual(id)
    }))
  })
})

describe("foldName", () => {
  // The Unicode passes, as foldName ran them on every name before its ASCII shortcut.
  const unicodeFold = (s: string) =>
    s.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase().replace(/[^\p{L}\p{N}]+/gu, " ").trim()

  it("folds every name as the Unicode passes do, ASCII or not", () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.string({ unit: "grapheme" })), (s) => {
      expect(foldName(s)).toBe(unicodeFold(s))
    }), { numRuns: 2_000 })
    for (const s of ["Zoë O'Brien-Smith", "ANNA  müller", "  Ada_Lovelace\t42 ", "Ｆｕｌｌｗｉｄｔｈ", "ﬁ ligature"]) {
      expect(foldName(s)).toBe(unicodeFold(s))
    }
  })
})
