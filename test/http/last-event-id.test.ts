/** Last-Event-ID to a checkpoint: whatever a client sends, a checkpoint the database can compare with. */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { startOfTime } from "../../src/eventstore/EventStore.ts"
import { eventId, resumeFrom } from "../../src/http/handlers/importStream.ts"

const MAX_XID8 = 2n ** 64n - 1n

describe("resumeFrom", () => {
  it("any header gives a checkpoint within xid8 and the safe integers, or the start", () => {
    const header = fc.oneof(
      fc.string(),
      fc.tuple(fc.bigInt({ min: 0n, max: 10n ** 20n - 1n }), fc.bigInt({ min: 0n, max: 10n ** 20n - 1n })).map(([t, p]) => `${t}.${p}`)
    )
    fc.assert(fc.property(header, (text) => {
      const c = resumeFrom(text)
      expect(BigInt(c.transactionId)).toBeLessThanOrEqual(MAX_XID8)
      expect(Number.isSafeInteger(c.position) && c.position >= 0).toBe(true)
    }), { numRuns: 2000 })
  })

  it("round-trips every event id the stream hands out; beyond the bounds, starts over", () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: MAX_XID8 }), fc.nat(), (t, position) => {
      const c = { transactionId: String(t), position }
      expect(resumeFrom(eventId(c))).toEqual(c)
    }))
    expect(resumeFrom("18446744073709551616.1")).toEqual(startOfTime)
    expect(resumeFrom("1.9007199254740992")).toEqual(startOfTime)
    expect(resumeFrom(undefined)).toEqual(startOfTime)
  })
})
