/**
 * cleanText over all of Unicode, lone surrogates and NULs included: what it returns is
 * always storable by PostgreSQL, storable text passes untouched, and it is idempotent.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import type { Lead } from "../../events/lead.ts"
import { cleanLead, cleanText } from "../../src/leads/cleanText.ts"

/** Any UTF-16 code unit: lone surrogates and NUL are as likely as anything else. */
const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit))
/** Strings mixing valid code points of the whole range, stray code units, NULs and surrogate halves. */
const anyText = fc.string({
  unit: fc.oneof(
    fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
    anyCodeUnit,
    fc.constantFrom("\u0000", "\uD83D", "\uDE00", "\uDBFF", "\uDC00")
  ),
  maxLength: 40
})
/** Well-formed strings (full code point range) without NUL. */
const storableText = fc.string({ unit: "binary" }).map((s) => s.replaceAll("\u0000", ""))

const isWellFormed = (s: string): boolean => {
  for (let i = 0; i < s.length; i++) {
    const unit = s.charCodeAt(i)
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = s.charCodeAt(i + 1)
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false
      i++
    } else if (unit >= 0xdc00 && unit <= 0xdfff) return false
  }
  return true
}

describe("cleanText", () => {
  it("never returns a NUL or a lone surrogate", () => {
    fc.assert(fc.property(anyText, (s) => {
      const cleaned = cleanText(s)
      expect(cleaned.includes("\u0000")).toBe(false)
      expect(isWellFormed(cleaned)).toBe(true)
    }), { numRuns: 2000 })
  })

  it("returns well-formed text without NUL unchanged", () => {
    fc.assert(fc.property(storableText, (s) => {
      expect(cleanText(s)).toBe(s)
    }), { numRuns: 2000 })
  })

  it("is idempotent", () => {
    fc.assert(fc.property(anyText, (s) => {
      expect(cleanText(cleanText(s))).toBe(cleanText(s))
    }), { numRuns: 2000 })
  })

  it("drops NULs, keeps pairs, and marks each lone half with U+FFFD", () => {
    expect(cleanText("Jo\u0000hn")).toBe("John")
    expect(cleanText("smile \uD83D\uDE00")).toBe("smile \uD83D\uDE00")
    expect(cleanText("cut \uD83D")).toBe("cut \uFFFD")
    expect(cleanText("\uDE00\uDE00x")).toBe("\uFFFD\uFFFDx")
    // Removing the NUL must not glue two lone halves into a character nobody sent.
    expect(cleanText("\uD83D\u0000\uDE00")).toBe("\uFFFD\uFFFD")
  })
})

describe("cleanLead", () => {
  it("cleans every string field and keeps nulls", () => {
    const dirty = "a\u0000b\uD800"
    const lead: Lead = {
      salesNavId: dirty,
      memberUrn: dirty,
      publicIdentifier: null,
      linkedinUrl: dirty,
      salesNavUrl: dirty,
      firstName: dirty,
      lastName: dirty,
      fullName: dirty,
      headline: dirty,
      currentRole: dirty,
      currentCompany: dirty,
      location: dirty
    }
    const cleaned = cleanLead(lead)
    for (const [field, value] of Object.entries(cleaned)) {
      if (field === "publicIdentifier") expect(value).toBeNull()
      else expect([field, value]).toEqual([field, "ab\uFFFD"])
    }
  })
})
