import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { defaultListName } from "../../src/lists/listName.ts"

describe("defaultListName", () => {
  it("is 'Sales Nav Import - mm/dd/yyyy' of the UTC date", () => {
    expect(defaultListName(new Date("2026-11-23T23:59:59Z"))).toBe("Sales Nav Import - 11/23/2026")
    // Late evening in New York is already the next day in UTC.
    expect(defaultListName(new Date("2026-01-04T20:30:00-05:00"))).toBe("Sales Nav Import - 01/05/2026")
    expect(defaultListName(new Date("2027-02-01T00:00:00Z"))).toBe("Sales Nav Import - 02/01/2027")
  })

  it("round-trips the date for any instant", () => {
    fc.assert(fc.property(fc.date({ min: new Date("1970-01-01"), max: new Date("9999-12-31"), noInvalidDate: true }), (d) => {
      const m = /^Sales Nav Import - (\d{2})\/(\d{2})\/(\d{4})$/.exec(defaultListName(d))
      expect(m).not.toBeNull()
      expect(Number(m![1])).toBe(d.getUTCMonth() + 1)
      expect(Number(m![2])).toBe(d.getUTCDate())
      expect(Number(m![3])).toBe(d.getUTCFullYear())
    }))
  })
})
