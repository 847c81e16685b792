/**
 * The ids the service mints: version-7 UUIDs (RFC 9562) and local run ids of Trigger.dev's form,
 * both in time order — ids minted later sort after (as text, as PostgreSQL's uuid and text
 * B-trees order them) — and never the same twice.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { randomBytesPooled, uuidV7 } from "../../events/index.ts"
import { mintRunId } from "../../src/imports/LocalTaskQueue.ts"

const time = fc.integer({ min: 0, max: 2 ** 48 - 1 })

describe("minted ids", () => {
  it("a version-7 UUID carries its millisecond, its version and variant, and sorts by time", () => {
    fc.assert(fc.property(time, time, (a, b) => {
      const [x, y] = [uuidV7(a), uuidV7(b)]
      for (const [id, t] of [[x, a], [y, b]] as const) {
        expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
        expect(parseInt(id.replace(/-/g, "").slice(0, 12), 16)).toBe(t)
      }
      if (a < b) expect(x < y).toBe(true)
    }))
  })

  it("version-7 UUIDs of one millisecond are all different", () => {
    const ids = Array.from({ length: 10_000 }, () => uuidV7(1_765_000_000_000))
    expect(new Set(ids).size).toBe(ids.length)
  })

  it("a local run id has Trigger.dev's form and sorts by time", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 36 ** 9 - 1 }), fc.integer({ min: 0, max: 36 ** 9 - 1 }), (a, b) => {
      const [x, y] = [mintRunId(a), mintRunId(b)]
      expect(x).toMatch(/^run_[a-z0-9]{24}$/)
      if (a < b) expect(x < y).toBe(true)
    }))
    const now = Date.now()
    const ids = Array.from({ length: 10_000 }, () => mintRunId(now))
    expect(new Set(ids).size).toBe(ids.length)
  })

  it("pooled random bytes: as many as asked, fresh on every call, across refills of the pool", () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 8, max: 700 }), { minLength: 20, maxLength: 40 }), (sizes) => {
      const drawn = sizes.map((n) => Buffer.from(randomBytesPooled(n)))
      drawn.forEach((bytes, i) => expect(bytes.length).toBe(sizes[i]))
      // 8 random bytes repeat with probability 2^-64: a repeat means the pool handed out the same bytes twice.
      const heads = drawn.map((bytes) => bytes.subarray(0, 8).toString("hex"))
      expect(new Set(heads).size).toBe(heads.length)
    }))
    expect(() => randomBytesPooled(4097)).toThrow(RangeError)
  })
})
