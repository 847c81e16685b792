/** Grants keep every credit figure a safe integer, exactly, over the whole safe-integer range. */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { decideGrant } from "../../src/credits/granting.ts"

const MAX = Number.MAX_SAFE_INTEGER
const safe = fc.oneof(fc.integer({ min: -MAX, max: MAX }), fc.constantFrom(-MAX, -MAX + 1, -1, 0, 1, MAX - 1, MAX))
const nonNegative = fc.oneof(fc.integer({ min: 0, max: MAX }), fc.constantFrom(0, 1, MAX))

describe("decideGrant", () => {
  it("grants exactly when the new balance and the new available both stay within ±(2^53 - 1), and then states them exactly", () => {
    fc.assert(fc.property(safe, nonNegative, safe, (balance, reserved, amount) => {
      const d = decideGrant({ balance, reserved }, amount)
      const next = BigInt(balance) + BigInt(amount)
      const available = next - BigInt(reserved)
      const fits = (n: bigint) => n <= BigInt(MAX) && n >= -BigInt(MAX)
      expect(d._tag).toBe(fits(next) && fits(available) ? "Granted" : "OutOfRange")
      if (d._tag === "Granted") {
        expect(BigInt(d.balance)).toBe(next)
        expect(BigInt(d.available)).toBe(available)
        expect(Number.isSafeInteger(d.balance) && Number.isSafeInteger(d.available)).toBe(true)
      }
    }), { numRuns: 2000 })
  })

  it("is exact at the bounds, where doubles alone would round", () => {
    expect(decideGrant({ balance: MAX - 1, reserved: 0 }, 1)).toEqual({ _tag: "Granted", balance: MAX, available: MAX })
    expect(decideGrant({ balance: MAX, reserved: 0 }, 1)._tag).toBe("OutOfRange")
    expect(decideGrant({ balance: 5, reserved: 0 }, MAX)._tag).toBe("OutOfRange")
    expect(decideGrant({ balance: 0, reserved: 0 }, -MAX)).toEqual({ _tag: "Granted", balance: -MAX, available: -MAX })
    // Removing credits while an import holds some: what stays available must fit too.
    expect(decideGrant({ balance: 10, reserved: 11 }, -MAX)._tag).toBe("OutOfRange")
    expect(decideGrant({ balance: 10, reserved: 10 }, -MAX)).toEqual({ _tag: "Granted", balance: 10 - MAX, available: -MAX })
  })
})
