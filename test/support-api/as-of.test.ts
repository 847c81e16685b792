/** `asOf` names a position (digits) or an ISO 8601 time; anything else is refused. */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { parseAsOf, showAsOf } from "../../src/support/asOf.ts"

describe("asOf", () => {
  it("a position is a whole number of the log, shown back as given", () => {
    fc.assert(fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER }), (n) => {
      const asOf = parseAsOf(String(n))
      expect(asOf).toEqual({ _tag: "Position", position: n })
      expect(showAsOf(asOf!)).toBe(String(n))
    }))
  })

  it("a time in ISO 8601, with or without zone (UTC) and fractions, is that instant", () => {
    fc.assert(fc.property(fc.date({ min: new Date("1970-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59Z"), noInvalidDate: true }), (d) => {
      const iso = d.toISOString()
      expect(parseAsOf(iso)).toEqual({ _tag: "Time", time: d })
      expect(parseAsOf(iso.replace("Z", ""))).toEqual({ _tag: "Time", time: d })
      expect(parseAsOf(iso.replace("Z", "+00:00"))).toEqual({ _tag: "Time", time: d })
      expect(showAsOf(parseAsOf(iso)!)).toBe(iso)
    }))
    expect(parseAsOf("2025-03-01")).toEqual({ _tag: "Time", time: new Date("2025-03-01T00:00:00Z") })
    expect(parseAsOf("2025-03-01T12:00+02:00")).toEqual({ _tag: "Time", time: new Date("2025-03-01T10:00:00Z") })
    expect(parseAsOf("2024-02-29T23:30:00-01:00")).toEqual({ _tag: "Time", time: new Date("2024-03-01T00:30:00Z") })
  })

  it("refuses what is neither", () => {
    for (const bad of ["", " ", "-1", "1.5", "1e3", "yesterday", "2024-02-30", "2025-13-01", "2025-01-01T25:00Z", "2025-01-01T10:61Z", "12345678901234567", "0x10", "2025-1-1"]) {
      expect(parseAsOf(bad), bad).toBeUndefined()
    }
    fc.assert(fc.property(fc.string(), (s) => {
      const asOf = parseAsOf(s)
      if (asOf?._tag === "Position") expect(/^\s*\d+\s*$/.test(s)).toBe(true)
      if (asOf?._tag === "Time") expect(Number.isNaN(asOf.time.getTime())).toBe(false)
    }))
  })

  // The database refuses year 0000 and six-digit years (found by the fuzz: a 500).
  it("a time is of years 0001 to 9999 in UTC, whatever its zone", () => {
    for (const bad of ["0000-01-01", "0000-12-31T23:59:59Z", "0001-01-01T00:30:00+01:00", "9999-12-31T23:00:00-02:00", "9999-12-31T23:59:59.9999-00:01"]) {
      expect(parseAsOf(bad), bad).toBeUndefined()
    }
    expect(parseAsOf("0001-01-01T00:00:00Z")).toEqual({ _tag: "Time", time: new Date("0001-01-01T00:00:00Z") })
    expect(parseAsOf("9999-12-31T23:59:59.999Z")).toEqual({ _tag: "Time", time: new Date("9999-12-31T23:59:59.999Z") })
    const zone = fc.tuple(fc.constantFrom("+", "-"), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
      .map(([sign, h, m]) => `${sign}${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`)
    const edgeDay = fc.constantFrom("0000-01-01", "0001-01-01", "9999-12-31", "0000-12-31")
    fc.assert(fc.property(edgeDay, fc.integer({ min: 0, max: 23 }), zone, (day, hour, offset) => {
      const time = parseAsOf(`${day}T${String(hour).padStart(2, "0")}:00:00${offset}`)
      if (time?._tag === "Time") expect(time.time.toISOString()).toMatch(/^(000[1-9]|00[1-9]\d|0[1-9]\d\d|[1-9]\d{3})-/)
    }))
  })
})
