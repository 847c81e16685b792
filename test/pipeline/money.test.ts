/**
 * The money rules (src/pipeline/money.ts), given/when/then and as properties: a page never
 * charges past maxResults, charges exactly the rows it inserts, never inserts a lead another
 * import put in first, accounts for every kept lead; and over a whole import, whatever the
 * pages, reserved = charged + refunded with charged <= maxResults.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { decidePersist, decideRefund, type KeptLead, type PersistFacts } from "../../src/pipeline/money.ts"

const kept = (...keys: ReadonlyArray<string>): ReadonlyArray<KeptLead> => keys.map((key, index) => ({ index, match: [key] }))

const facts = (overrides: Partial<PersistFacts>): PersistFacts => ({
  maxResults: 100,
  charged: 0,
  skipExistingCustomers: true,
  kept: kept("a", "b", "c"),
  inThisList: new Set(),
  inOtherLists: new Set(),
  ...overrides
})

describe("decidePersist", () => {
  it("given room for the page: inserts and charges every kept lead, in page order", () => {
    expect(decidePersist(facts({}))).toEqual({ insert: [0, 1, 2], overCap: 0, lateDuplicates: 0, lateExisting: 0, charge: 3 })
  })

  it("given 2 credits left of the cap: inserts the first 2, the rest is over the cap", () => {
    expect(decidePersist(facts({ maxResults: 10, charged: 8 }))).toEqual({
      insert: [0, 1],
      overCap: 1,
      lateDuplicates: 0,
      lateExisting: 0,
      charge: 2
    })
  })

  it("given the cap already reached: inserts nothing, charges nothing", () => {
    expect(decidePersist(facts({ maxResults: 10, charged: 10 }))).toMatchObject({ insert: [], overCap: 3, charge: 0 })
  })

  it("given another import put a lead in this list since dedupe: skipped as a late duplicate, not charged", () => {
    expect(decidePersist(facts({ inThisList: new Set(["b"]) }))).toEqual({
      insert: [0, 2],
      overCap: 0,
      lateDuplicates: 1,
      lateExisting: 0,
      charge: 2
    })
  })

  it("given a lead now in another list: skipped with skipExistingCustomers, imported without", () => {
    expect(decidePersist(facts({ inOtherLists: new Set(["c"]) }))).toMatchObject({ insert: [0, 1], lateExisting: 1, charge: 2 })
    expect(decidePersist(facts({ inOtherLists: new Set(["c"]), skipExistingCustomers: false }))).toMatchObject({
      insert: [0, 1, 2],
      lateExisting: 0,
      charge: 3
    })
  })

  it("late duplicates do not use up the cap: the next kept lead takes the place", () => {
    expect(decidePersist(facts({ maxResults: 2, inThisList: new Set(["a"]) }))).toMatchObject({
      insert: [1, 2],
      overCap: 0,
      lateDuplicates: 1,
      charge: 2
    })
  })

  const anyFacts = fc.record({
    maxResults: fc.integer({ min: 1, max: 60 }),
    charged: fc.integer({ min: 0, max: 60 }),
    skipExistingCustomers: fc.boolean(),
    keys: fc.uniqueArray(fc.string({ minLength: 1, maxLength: 3 }), { maxLength: 25 }),
    inThisList: fc.array(fc.string({ minLength: 1, maxLength: 3 }), { maxLength: 10 }),
    inOtherLists: fc.array(fc.string({ minLength: 1, maxLength: 3 }), { maxLength: 10 })
  }).filter((f) => f.charged <= f.maxResults).map((f): PersistFacts => ({
    maxResults: f.maxResults,
    charged: f.charged,
    skipExistingCustomers: f.skipExistingCustomers,
    kept: kept(...f.keys),
    inThisList: new Set(f.inThisList),
    inOtherLists: new Set(f.inOtherLists)
  }))

  it("property: charge = rows inserted, never past maxResults, every kept lead accounted for once", () => {
    fc.assert(fc.property(anyFacts, (f) => {
      const d = decidePersist(f)
      expect(d.charge).toBe(d.insert.length)
      expect(f.charged + d.charge).toBeLessThanOrEqual(f.maxResults)
      expect(d.insert.length + d.overCap + d.lateDuplicates + d.lateExisting).toBe(f.kept.length)
      expect(new Set(d.insert).size).toBe(d.insert.length)
      // Page order, and only leads nobody put in first.
      expect([...d.insert].sort((a, b) => a - b)).toEqual(d.insert)
      for (const index of d.insert) {
        const [key] = f.kept[index]!.match
        expect(f.inThisList.has(key!)).toBe(false)
        if (f.skipExistingCustomers) expect(f.inOtherLists.has(key!)).toBe(false)
      }
      // Over the cap only when the cap is what stopped it.
      if (d.overCap > 0) expect(f.charged + d.charge).toBe(f.maxResults)
    }))
  })
})

describe("decideRefund", () => {
  it("given 100 reserved and 60 charged: refunds 40", () => {
    expect(decideRefund({ reserved: 100, charged: 60, refunded: 0 })).toBe(40)
  })

  it("given a refund already made: nothing more", () => {
    expect(decideRefund({ reserved: 100, charged: 60, refunded: 40 })).toBe(0)
  })

  it("given a hold overdrawn (impossible under the table's CHECK): refuses", () => {
    expect(() => decideRefund({ reserved: 10, charged: 8, refunded: 5 })).toThrow(/overdrawn/)
  })

  it("property: over a whole import of random pages, reserved = charged + refunded and charged <= maxResults", () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 300 }),
      fc.array(fc.integer({ min: 0, max: 25 }), { maxLength: 20 }),
      (maxResults, pageSizes) => {
        let charged = 0
        for (const size of pageSizes) {
          charged += decidePersist(facts({ maxResults, charged, kept: kept(...Array.from({ length: size }, (_, i) => `k${i}`)) })).charge
        }
        const refunded = decideRefund({ reserved: maxResults, charged, refunded: 0 })
        expect(charged).toBeLessThanOrEqual(maxResults)
        expect(charged + refunded).toBe(maxResults)
        expect(decideRefund({ reserved: maxResults, charged, refunded })).toBe(0)
      }
    ))
  })
})
