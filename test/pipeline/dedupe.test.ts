/** The per-page dedupe decision: duplicates in the import or list, existing customers, kept. */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import type { Lead } from "../../events/index.ts"
import { decideDedupe, type KnownKeys } from "../../src/pipeline/dedupe.ts"
import { leadIdentity } from "../../src/pipeline/identity.ts"
import { fakePerson } from "../../src/leads/FakeLeadSource.ts"

const none: KnownKeys = { inThisList: new Set(), seenInImport: new Set(), inOtherLists: new Set() }
const person = (i: number): Lead => fakePerson(i)
const keyOf = (l: Lead) => leadIdentity(l).match[0]!

describe("decideDedupe", () => {
  it("keeps new people, in page order", () => {
    const leads = [person(1), person(2), person(3)]
    const d = decideDedupe(leads, none, true)
    expect(d).toMatchObject({ kept: 3, skippedDuplicate: 0, skippedExisting: 0 })
    expect(d.decisions.map((x) => [x.index, x.outcome])).toEqual([[0, "kept"], [1, "kept"], [2, "kept"]])
  })

  it("the same person twice on a page: the second is a duplicate", () => {
    const d = decideDedupe([person(1), person(2), person(1)], none, true)
    expect(d.decisions.map((x) => x.outcome)).toEqual(["kept", "kept", "duplicate"])
    expect(d.decisions[2]!.matchedKey).toBe(keyOf(person(1)))
  })

  it("seen earlier in the import or already in this list: duplicate; in another list: existing only when skipping", () => {
    const leads = [person(1), person(2), person(3)]
    const known: KnownKeys = {
      seenInImport: new Set([keyOf(person(1))]),
      inThisList: new Set([keyOf(person(2))]),
      inOtherLists: new Set([keyOf(person(3))])
    }
    expect(decideDedupe(leads, known, true).decisions.map((x) => x.outcome)).toEqual(["duplicate", "duplicate", "existing"])
    expect(decideDedupe(leads, known, false).decisions.map((x) => x.outcome)).toEqual(["duplicate", "duplicate", "kept"])
  })

  it("in this list and in another: a duplicate (this list wins)", () => {
    const k = keyOf(person(4))
    const d = decideDedupe([person(4)], { ...none, inThisList: new Set([k]), inOtherLists: new Set([k]) }, true)
    expect(d.decisions[0]!.outcome).toBe("duplicate")
  })

  it("accounts for every lead exactly once, whatever the page and the known keys", () => {
    fc.assert(fc.property(
      fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 30 }),
      fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 20 }),
      fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 20 }),
      fc.boolean(),
      (page, inList, inOther, skip) => {
        const leads = page.map(person)
        const known: KnownKeys = {
          inThisList: new Set(inList.map((i) => keyOf(person(i)))),
          inOtherLists: new Set(inOther.map((i) => keyOf(person(i)))),
          seenInImport: new Set()
        }
        const d = decideDedupe(leads, known, skip)
        expect(d.kept + d.skippedDuplicate + d.skippedExisting).toBe(leads.length)
        expect(d.decisions.map((x) => x.index)).toEqual(leads.map((_, i) => i))
        // Nobody is kept twice, and nobody kept is already in this list.
        const keptKeys = d.decisions.filter((x) => x.outcome === "kept").map((x) => keyOf(leads[x.index]!))
        expect(new Set(keptKeys).size).toBe(keptKeys.length)
        for (const k of keptKeys) {
          expect(known.inThisList.has(k)).toBe(false)
          if (skip) expect(known.inOtherLists.has(k)).toBe(false)
        }
        if (!skip) expect(d.skippedExisting).toBe(0)
      }
    ))
  })
})
