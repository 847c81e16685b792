/** Capping an import to the caller's credits, over the whole safe-integer range. */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { capToCredits } from "../../src/credits/capping.ts"

const MAX = Number.MAX_SAFE_INTEGER
const requested = fc.oneof(fc.integer({ min: 1, max: MAX }), fc.constantFrom(1, 2, 2500, MAX - 1, MAX))
const available = fc.oneof(fc.integer({ min: -MAX, max: MAX }), fc.constantFrom(-1, 0, 1, 2500, MAX))

describe("capToCredits", () => {
  it("never above requested, never above available, always > 0 when accepted; wasCapped iff available < requested", () => {
    fc.assert(fc.property(requested, available, (req, avail) => {
      const d = capToCredits(req, avail)
      if (avail <= 0) {
        expect(d).toEqual({ _tag: "InsufficientCredits", available: avail })
        return
      }
      if (d._tag !== "Accepted") throw new Error("expected Accepted")
      expect(d.maxResults).toBeLessThanOrEqual(req)
      expect(d.maxResults).toBeLessThanOrEqual(avail)
      expect(d.maxResults).toBeGreaterThan(0)
      expect(d.maxResults).toBe(Math.min(req, avail))
      expect(d.wasCapped).toBe(avail < req)
      expect(Number.isSafeInteger(d.maxResults)).toBe(true)
    }), { numRuns: 2000 })
  })

  it("is exact at the bounds", () => {
    expect(capToCredits(1, 1)).toEqual({ _tag: "Accepted", maxResults: 1, wasCapped: false })
    expect(capToCredits(2, 1)).toEqual({ _tag: "Accepted", maxResults: 1, wasCapped: true })
    expect(capToCredits(MAX, MAX)).toEqual({ _tag: "Accepted", maxResults: MAX, wasCapped: false })
    expect(capToCredits(MAX, MAX - 1)).toEqual({ _tag: "Accepted", maxResults: MAX - 1, wasCapped: true })
    expect(capToCredits(1, MAX)).toEqual({ _tag: "Accepted", maxResults: 1, wasCapped: false })
    expect(capToCredits(2500, 0)._tag).toBe("InsufficientCredits")
    expect(capToCredits(2500, -5)._tag).toBe("InsufficientCredits")
  })
})
