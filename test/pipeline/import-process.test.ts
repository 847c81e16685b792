/**
 * The orchestrator's decider, given/when/then, and a simulation: driving decide/evolve
 * against a model search never imports more than the cap, pages at most 100 times,
 * and always ends with exactly one refund then one finish.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { ImportRequested } from "../../events/index.ts"
import {
  type Action,
  decide,
  endOfSearch,
  evolve,
  type Fact,
  type ImportState,
  initialState,
  MAX_PAGES
} from "../../src/pipeline/importProcess.ts"

const request = (maxResults: number) =>
  new ImportRequested({
    importId: "i",
    userId: "u",
    listId: "l",
    accountId: "a",
    url: "https://www.linkedin.com/sales/search/people?query=x",
    requested: maxResults,
    maxResults,
    wasCapped: false,
    skipExistingCustomers: true
  })

const given = (...facts: ReadonlyArray<Fact>): ImportState => facts.reduce(evolve, initialState)
const requested = (max: number): Fact => ({ _tag: "Requested", request: request(max) })
const fetched = (page: number, leads = 25, nextCursor: string | null = "c", totalAvailable: number | null = null): Fact => ({
  _tag: "Fetched",
  page,
  leads,
  nextCursor,
  totalAvailable
})

describe("decide", () => {
  it("nothing requested: done", () => {
    expect(decide(initialState)).toEqual({ _tag: "Done" })
  })

  it("walks each page through fetch, dedupe, persist", () => {
    expect(decide(given(requested(100)))).toEqual({ _tag: "FetchPage", page: 1 })
    expect(decide(given(requested(100), fetched(1)))).toEqual({ _tag: "Dedupe", page: 1 })
    expect(decide(given(requested(100), fetched(1), { _tag: "Deduped", page: 1 }))).toEqual({ _tag: "Persist", page: 1 })
    expect(decide(given(requested(100), fetched(1), { _tag: "Deduped", page: 1 }, { _tag: "Persisted", page: 1, imported: 20 })))
      .toEqual({ _tag: "FetchPage", page: 2 })
  })

  it("stops at the cap, at the end of the search, and after page 100", () => {
    const page = (n: number, imported: number, nextCursor: string | null = "c", leads = 25): Array<Fact> => [
      fetched(n, leads, nextCursor),
      { _tag: "Deduped", page: n },
      { _tag: "Persisted", page: n, imported }
    ]
    expect(decide(given(requested(25), ...page(1, 25)))).toEqual({ _tag: "Refund", because: { outcome: "completed", reason: "cap_reached" } })
    expect(decide(given(requested(100), ...page(1, 10, null)))).toEqual({ _tag: "Refund", because: { outcome: "completed", reason: "search_exhausted" } })
    expect(decide(given(requested(100), ...page(1, 0, "c", 0)))).toEqual({ _tag: "Refund", because: { outcome: "completed", reason: "search_exhausted" } })
    const hundred = Array.from({ length: MAX_PAGES }, (_, i) => page(i + 1, 0)).flat()
    expect(decide(given(requested(100), ...hundred))).toEqual({ _tag: "Refund", because: { outcome: "completed", reason: "reachable_limit" } })
  })

  it("a failed stage ends the import through the refund; after the refund only the finish is left", () => {
    const failing = given(requested(100), fetched(1), { _tag: "StageFailed", error: "account_restricted" })
    expect(decide(failing)).toEqual({ _tag: "Refund", because: { outcome: "failed", error: "account_restricted" } })
    const refunded = evolve(failing, { _tag: "Refunded", amount: 100, because: { outcome: "failed", error: "account_restricted" } })
    expect(decide(refunded)).toEqual({ _tag: "Finish", because: { outcome: "failed", error: "account_restricted" } })
    // A restart that lost the in-memory failure still finishes the way the refund recorded.
    const restarted = given(requested(100), fetched(1), { _tag: "Refunded", amount: 100, because: { outcome: "failed", error: "x" } })
    expect(decide(restarted)).toEqual({ _tag: "Finish", because: { outcome: "failed", error: "x" } })
    expect(decide(evolve(refunded, { _tag: "Ended" }))).toEqual({ _tag: "Done" })
  })
})

describe("decide: the end of a search, a cancel, a halt", () => {
  const page = (n: number, imported: number, nextCursor: string | null, leads: number, total: number | null): Array<Fact> => [
    fetched(n, leads, nextCursor, total),
    { _tag: "Deduped", page: n },
    { _tag: "Persisted", page: n, imported }
  ]

  it("a search that ends having returned min(total, 2,500) results was read to its end", () => {
    expect(decide(given(requested(500), ...page(1, 25, "c", 25, 40), ...page(2, 15, null, 15, 40)))).toEqual({
      _tag: "Refund",
      because: { outcome: "completed", reason: "search_exhausted" }
    })
  })

  it("a provider that stops before min(total, 2,500) results truncated the search: upstream_truncated", () => {
    expect(decide(given(requested(500), ...page(1, 25, "c", 25, 900), ...page(2, 0, "c", 0, 900)))).toEqual({
      _tag: "Refund",
      because: { outcome: "completed", reason: "upstream_truncated" }
    })
    // A total above 2,500 only promises 2,500; an unknown total promises nothing.
    expect(endOfSearch({ leadsFetched: 2_500, totalAvailable: 10_000 })).toBe("search_exhausted")
    expect(endOfSearch({ leadsFetched: 2_499, totalAvailable: 10_000 })).toBe("upstream_truncated")
    expect(endOfSearch({ leadsFetched: 3, totalAvailable: null })).toBe("search_exhausted")
  })

  it("property: upstream_truncated exactly when fewer than min(total, 2,500) results came back", () => {
    fc.assert(fc.property(fc.nat({ max: 5_000 }), fc.option(fc.nat({ max: 100_000 }), { nil: null }), (leadsFetched, totalAvailable) => {
      const truncated = totalAvailable !== null && leadsFetched < Math.min(totalAvailable, 2_500)
      expect(endOfSearch({ leadsFetched, totalAvailable })).toBe(truncated ? "upstream_truncated" : "search_exhausted")
    }))
  })

  it("a cancel request ends the import as canceled, whatever page it is on; a refund already made decides instead", () => {
    const midway = given(requested(100), ...page(1, 25, "c", 25, 900), fetched(2))
    expect(decide(evolve(midway, { _tag: "CancelRequested" }))).toEqual({ _tag: "Refund", because: { outcome: "canceled" } })
    const failedFirst = evolve(
      evolve(midway, { _tag: "Refunded", amount: 75, because: { outcome: "failed", error: "x" } }),
      { _tag: "CancelRequested" }
    )
    expect(decide(failedFirst)).toEqual({ _tag: "Finish", because: { outcome: "failed", error: "x" } })
  })

  it("a halted stage changes nothing by itself: the orchestrator reads the events again", () => {
    const midway = given(requested(100), fetched(1))
    expect(evolve(midway, { _tag: "Halted", reason: "cancel_requested" })).toBe(midway)
  })
})

describe("the process against a model search", () => {
  it("imports at most maxResults, fetches at most 100 pages, refunds once and finishes once", () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 3000 }),
      fc.integer({ min: 0, max: 3000 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (maxResults, searchSize, keepRatio) => {
        let state = given(requested(maxResults))
        const actions: Array<Action["_tag"]> = []
        let served = 0
        for (let step = 0; step < 1000; step++) {
          const action = decide(state)
          actions.push(action._tag)
          if (action._tag === "Done") break
          const fact: Fact = (() => {
            switch (action._tag) {
              case "FetchPage": {
                const leads = Math.min(25, Math.max(0, searchSize - served))
                served += leads
                return fetched(action.page, leads, served < searchSize ? "c" : null)
              }
              case "Dedupe":
                return { _tag: "Deduped", page: action.page }
              case "Persist": {
                const kept = Math.floor(state.fetched.leads * keepRatio)
                return { _tag: "Persisted", page: action.page, imported: Math.min(kept, maxResults - state.imported) }
              }
              case "Refund":
                return { _tag: "Refunded", amount: maxResults - state.imported, because: action.because }
              case "Finish":
                return { _tag: "Ended" }
            }
          })()
          state = evolve(state, fact)
        }
        expect(actions.at(-1)).toBe("Done")
        expect(state.imported).toBeLessThanOrEqual(maxResults)
        expect(state.fetched.page).toBeLessThanOrEqual(MAX_PAGES)
        expect(actions.filter((a) => a === "Refund").length).toBe(1)
        expect(actions.filter((a) => a === "Finish").length).toBe(1)
        expect(actions.indexOf("Refund")).toBeLessThan(actions.indexOf("Finish"))
        // It stopped for a reason that holds.
        const reason = state.refund?.because
        if (reason?.outcome !== "completed") throw new Error("expected completion")
        if (reason.reason === "cap_reached") expect(state.imported).toBe(maxResults)
        if (reason.reason === "reachable_limit") expect(state.fetched.page).toBe(MAX_PAGES)
        if (reason.reason === "search_exhausted") expect(served).toBe(Math.min(searchSize, MAX_PAGES * 25))
      }
    ), { numRuns: 300 })
  })
})
