/** The import command's decision, given what we know, when the caller asks, then these events or this rejection. */
import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import fc from "fast-check"
import { CreditsReserved, ImportRequested, ListCreated, ListResolved } from "../../events/index.ts"
import { decideStartImport, type StartImportCommand, type StartImportState } from "../../src/imports/startImport.ts"

const command: StartImportCommand = {
  userId: "u-1",
  url: "https://www.linkedin.com/sales/search/people?query=x",
  maxResults: 100,
  skipExistingCustomers: true,
  now: new Date("2026-11-23T10:00:00Z"),
  importId: "i-1",
  newListId: "l-new"
}
const state: StartImportState = { salesNavAccountId: "a-1", listOwned: false, availableCredits: 1000 }

const decide = (c: Partial<StartImportCommand>, s: Partial<StartImportState>) =>
  decideStartImport({ ...command, ...c }, { ...state, ...s })

describe("decideStartImport", () => {
  it("given credits and an account, when no list is named, then it creates one and reserves the cap", () => {
    const d = decide({}, {})
    expect(Result.isSuccess(d)).toBe(true)
    if (Result.isFailure(d)) return
    expect(d.success.listCreated).toEqual(new ListCreated({ listId: "l-new", userId: "u-1", name: "Sales Nav Import - 11/23/2026" }))
    expect(d.success.importEvents).toEqual([
      new ImportRequested({
        importId: "i-1",
        userId: "u-1",
        listId: "l-new",
        accountId: "a-1",
        url: command.url,
        requested: 100,
        maxResults: 100,
        wasCapped: false,
        skipExistingCustomers: true
      }),
      new ListResolved({ importId: "i-1", listId: "l-new", created: true })
    ])
    expect(d.success.reservation).toEqual(new CreditsReserved({ userId: "u-1", importId: "i-1", amount: 100 }))
  })

  it("given an owned list, when it is named, then it is reused and nothing is created", () => {
    const d = decide({ listId: "l-mine", listName: "ignored" }, { listOwned: true })
    if (Result.isFailure(d)) throw new Error("expected success")
    expect(d.success.listCreated).toBeUndefined()
    expect(d.success.listId).toBe("l-mine")
    expect(d.success.importEvents[1]).toEqual(new ListResolved({ importId: "i-1", listId: "l-mine", created: false }))
  })

  it("a listName names the created list", () => {
    const d = decide({ listName: "CTOs in Berlin" }, {})
    if (Result.isFailure(d)) throw new Error("expected success")
    expect(d.success.listCreated?.name).toBe("CTOs in Berlin")
  })

  it("the list's name is stored without surrounding whitespace", () => {
    const d = decide({ listName: "  CTOs in Berlin \n" }, {})
    if (Result.isFailure(d)) throw new Error("expected success")
    expect(d.success.listCreated?.name).toBe("CTOs in Berlin")
  })

  it("rejects in the contract's order: URL, account, list, credits", () => {
    const all = { url: "https://example.com/x", listId: "l-other" }
    const none = { salesNavAccountId: undefined, listOwned: false, availableCredits: 0 }
    expect(Result.isFailure(decide(all, none)) && decide(all, none)).toMatchObject({ failure: { _tag: "InvalidUrl" } })
    expect(decide({ listId: "l-other" }, none)).toMatchObject({ failure: { _tag: "NoSalesNavAccount" } })
    expect(decide({ listId: "l-other" }, { ...none, salesNavAccountId: "a" })).toMatchObject({ failure: { _tag: "ListForbidden" } })
    expect(decide({}, { ...none, salesNavAccountId: "a" })).toMatchObject({ failure: { _tag: "InsufficientCredits", available: 0 } })
  })

  it("reserves exactly what it caps to, for any request and balance", () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      fc.integer({ min: -1000, max: Number.MAX_SAFE_INTEGER }),
      (maxResults, availableCredits) => {
        const d = decide({ maxResults }, { availableCredits })
        if (availableCredits <= 0) {
          expect(Result.isFailure(d)).toBe(true)
          return
        }
        if (Result.isFailure(d)) throw new Error("expected success")
        const { reservation, importEvents: [requested], maxResults: cap, wasCapped } = d.success
        expect(reservation.amount).toBe(cap)
        expect(requested.maxResults).toBe(cap)
        expect(requested.requested).toBe(maxResults)
        expect(cap).toBe(Math.min(maxResults, availableCredits))
        expect(wasCapped).toBe(availableCredits < maxResults)
      }
    ))
  })
})
