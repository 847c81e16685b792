/**
 * Timeline entries are pure: every event type has a one-line summary that names the page
 * (when there is one) and the numbers support asks about — given(event) then(entry).
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import * as E from "../../events/index.ts"
import { timelineEntry } from "../../src/imports/timeline.ts"
import { domainEvent } from "../support/arbitraries.ts"

const at = new Date("2025-03-01T10:00:00Z")
const lead = { salesNavId: null, memberUrn: null, publicIdentifier: null, linkedinUrl: null, salesNavUrl: null, firstName: "A", lastName: "B", fullName: "A B", headline: null, currentRole: null, currentCompany: null, location: null }

describe("timeline entries", () => {
  it("every event has one line: its type, its time, its page when it is about one", () => {
    fc.assert(fc.property(domainEvent, (event) => {
      const entry = timelineEntry(event, at)
      expect(entry.type).toBe(event._tag)
      expect(entry.at).toBe(at)
      expect(entry.page).toBe("page" in event ? event.page : null)
      expect(entry.summary.length).toBeGreaterThan(0)
      expect(entry.summary).not.toMatch(/\n|undefined|NaN|\[object/)
      if (entry.page !== null) expect(entry.summary.startsWith(`page ${entry.page}: `)).toBe(true)
    }))
  })

  it("says what a page's stages did, in numbers", () => {
    const importId = crypto.randomUUID()
    expect(timelineEntry(new E.PageFetched({ importId, page: 3, leads: Array(25).fill(lead), nextCursor: "c", totalAvailable: 2600 }), at).summary)
      .toBe("page 3: 25 fetched (2,600 available)")
    expect(timelineEntry(new E.PageFetched({ importId, page: 4, leads: [lead], nextCursor: null, totalAvailable: null }), at).summary)
      .toBe("page 4: 1 fetched, the last page")
    expect(timelineEntry(new E.LeadsDeduped({ importId, page: 3, decisions: [], kept: 23, skippedDuplicate: 2, skippedExisting: 0 }), at).summary)
      .toBe("page 3: 23 kept, 2 duplicates, 0 already in other lists")
    const rows = Array.from({ length: 21 }, (_, index) => ({ rowId: crypto.randomUUID(), index, lead, keys: [] }))
    expect(timelineEntry(new E.BatchPersisted({ importId, userId: "u", listId: "l", runId: "r", page: 3, rows, overCap: 2, lateDuplicates: 1, lateExisting: 0 }), at).summary)
      .toBe("page 3: 21 imported (2 over the cap, 1 late duplicate)")
    expect(timelineEntry(new E.CreditsCharged({ userId: "u", importId, page: 3, amount: 1 }), at).summary).toBe("page 3: 1 credit charged")
  })

  it("says how the import was asked for and how it ended", () => {
    const importId = crypto.randomUUID()
    expect(timelineEntry(new E.ImportRequested({ importId, userId: "u", listId: "l", accountId: "a", url: "x", requested: 5000, maxResults: 1200, wasCapped: true, skipExistingCustomers: false }), at).summary)
      .toBe("requested: up to 1,200 leads (asked 5,000, capped to the credits available)")
    expect(timelineEntry(new E.CreditsRefunded({ userId: "u", importId, amount: 77, because: { outcome: "completed", reason: "search_exhausted" } }), at).summary)
      .toBe("77 credits refunded (completed, search exhausted)")
    expect(timelineEntry(new E.ImportCompleted({ importId, reason: "cap_reached", leadsImported: 100, creditsCharged: 100, creditsRefunded: 0 }), at).summary)
      .toBe("completed, cap reached: 100 leads imported, 100 credits charged, 0 refunded")
    expect(timelineEntry(new E.ImportCancelRequested({ importId, requestedBy: "u-1" }), at).summary).toBe("cancel requested by u-1")
    expect(timelineEntry(new E.ImportFailed({ importId, error: "account_restricted", leadsImported: 25, creditsCharged: 25, creditsRefunded: 75 }), at).summary)
      .toBe("failed: account_restricted (25 leads imported, 25 credits charged, 75 refunded)")
  })
})
