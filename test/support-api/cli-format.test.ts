/** The CLI's layout is arithmetic: bounds and fits, for any input. */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { duration, eta, percent, progressLine, table, truncate, WIDTH } from "../../src/cli/support/format.ts"

const length = (s: string) => [...s].length

describe("the support CLI's layout", () => {
  it("a progress line fits, its percentage is within 0..100 and its bar matches it", () => {
    fc.assert(fc.property(fc.nat({ max: 2_000_000_000 }), fc.nat({ max: 2_000_000_000 }), fc.double({ min: 0, max: 1e7, noNaN: true }), (processed, total, rate) => {
      const line = progressLine({ processed, total, eventsPerSecond: rate })
      expect(length(line)).toBeLessThanOrEqual(WIDTH)
      const shown = Number(/(\d+)%/.exec(line)![1])
      expect(shown).toBe(percent(processed, total))
      expect(shown).toBeGreaterThanOrEqual(0)
      expect(shown).toBeLessThanOrEqual(100)
      const bar = /^\[(#*)(-*)\]/.exec(line)
      if (bar) expect(Math.abs(bar[1]!.length / (bar[1]!.length + bar[2]!.length) * 100 - shown)).toBeLessThanOrEqual(100 / (bar[1]!.length + bar[2]!.length) / 2 + 1e-9)
    }))
    expect(progressLine({ processed: 45, total: 100, eventsPerSecond: 5 })).toBe(
      "[##############----------------]  45%  45/100 events  5 events/s  ETA 0:11"
    )
  })

  it("the time left is what remains at the rate, unknown without a rate", () => {
    fc.assert(fc.property(fc.nat(), fc.nat(), fc.double({ min: 0.001, max: 1e9, noNaN: true }), (processed, total, rate) => {
      const left = eta(processed, total, rate)!
      expect(left).toBeGreaterThanOrEqual(0)
      expect(left * rate).toBeCloseTo(Math.max(0, total - processed), 3)
    }))
    expect(eta(1, 10, 0)).toBeUndefined()
    expect([duration(0), duration(59.4), duration(61), duration(3_725), duration(undefined), duration(-1)]).toEqual(["0:00", "0:59", "1:01", "1:02:05", "?", "?"])
  })

  it("tables keep every line within the width, cutting long cells with an ellipsis", () => {
    const cell = fc.string({ maxLength: 200 })
    fc.assert(fc.property(fc.array(fc.tuple(cell, cell, cell), { maxLength: 20 }), (rows) => {
      const lines = table([{ title: "A", width: 8, align: "right" }, { title: "B", width: 30 }, { title: "C" }], rows)
      expect(lines.length).toBe(rows.length + 1)
      for (const line of lines) expect(length(line)).toBeLessThanOrEqual(WIDTH)
      for (const line of lines) expect(line).not.toMatch(/[\r\n]/)
    }))
    expect(truncate("abcdef", 4)).toBe("abc…")
    expect(truncate("abc", 4)).toBe("abc")
    expect(table([{ title: "N", width: 3, align: "right" }, { title: "NAME" }], [["7", "Ada"]])).toEqual(["  N  NAME", "  7  Ada"])
  })
})
