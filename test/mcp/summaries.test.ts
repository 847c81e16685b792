/**
 * The lines an agent repeats to the human agree with the numbers beside them: one line, the
 * run id, the status, what was imported, what was charged and refunded once it has ended; the
 * capped advice exactly when the import was capped. And every error code a tool can answer
 * with keeps the contract's code and message.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import type { ImportStatus } from "../../src/http/Api.ts"
import { accessSummary, cappedAdvice, importStartedSummary, importSummary } from "../../src/mcp/summaries.ts"
import { ImportRateLimited } from "../../src/imports/ImportRateLimit.ts"
import { rateLimitedError, toolError } from "../../src/mcp/toolErrors.ts"

type Status = typeof ImportStatus.Type

const count = fc.nat({ max: 100_000 })
const format = (value: number) => new Intl.NumberFormat("en-US").format(value)

const status: fc.Arbitrary<Status> = fc.record({
  runId: fc.stringMatching(/^run_[a-z0-9]{20}$/),
  listId: fc.uuid(),
  status: fc.constantFrom("queued", "running", "completed", "failed", "canceled"),
  requested: count,
  maxResults: count,
  wasCapped: fc.boolean(),
  totalAvailable: fc.option(count, { nil: null }),
  pagesFetched: count,
  leadsFetched: count,
  leadsImported: count,
  skippedExisting: count,
  skippedDuplicate: count,
  overCap: count,
  creditsReserved: count,
  creditsCharged: count,
  creditsRefunded: count,
  completionReason: fc.option(fc.constantFrom("cap_reached", "search_exhausted", "reachable_limit", "upstream_truncated", "canceled"), {
    nil: null
  }),
  cancelRequested: fc.boolean(),
  error: fc.option(fc.string({ maxLength: 60 }).map((s) => s.replace(/\n/g, " ")), { nil: null }),
  createdAt: fc.constant("2026-05-01T10:00:00.000Z"),
  updatedAt: fc.constant("2026-05-01T10:01:00.000Z")
})

describe("importSummary", () => {
  it("is one line naming the run, its status and what it imported; once ended, what it charged and refunded", () => {
    fc.assert(fc.property(status, (s) => {
      const line = importSummary(s)
      expect(line).not.toContain("\n")
      expect(line).toContain(s.runId)
      expect(line).toContain(s.status === "canceled" ? "was canceled" : s.status)
      if (s.status !== "queued") expect(line).toContain(`${format(s.leadsImported)} lead`)
      if (s.status === "completed" || s.status === "failed" || s.status === "canceled") {
        expect(line).toContain(`${format(s.creditsCharged)} credit${s.creditsCharged === 1 ? "" : "s"} charged, ${format(s.creditsRefunded)} refunded`)
      }
      if (s.status === "failed" && s.error !== null) expect(line).toContain(s.error)
      if (s.wasCapped && s.status !== "failed" && s.status !== "canceled") expect(line).toContain(`capped from ${format(s.requested)}`)
    }))
  })

  it("says why a completed import ended", () => {
    const base = fc.sample(status, { numRuns: 1, seed: 7 })[0]!
    const completed = (completionReason: Status["completionReason"]) =>
      importSummary({ ...base, status: "completed", completionReason, maxResults: 100, leadsImported: 100 })
    expect(completed("cap_reached")).toContain("reached its cap of 100 leads")
    expect(completed("search_exhausted")).toContain("the search has no more results")
    expect(completed("reachable_limit")).toContain("at most 2,500 results")
    expect(completed("upstream_truncated")).toContain("LinkedIn stopped returning results")
  })
})

describe("what an import call says", () => {
  const accepted = { success: true as const, listId: "3c90c3cc-0d44-4b50-8888-8dd25736052a", runId: "run_abcdefghijklmnop", maxResults: 30, wasCapped: true }

  it("tells the human exactly when the import was capped, with both numbers and a top-up", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 10_000 }), (maxResults, requested) => {
      const advice = cappedAdvice({ ...accepted, maxResults, wasCapped: maxResults < requested }, requested)
      if (maxResults >= requested) {
        expect(advice).toBeNull()
      } else {
        expect(advice).toContain(`at most ${format(maxResults)} lead`)
        expect(advice).toContain(`instead of the ${format(requested)} asked for`)
        expect(advice).toContain("top-up")
      }
    }))
  })

  it("says whether it started an import or answered an earlier identical call", () => {
    expect(importStartedSummary(accepted, false)).toMatch(/^Import run_abcdefghijklmnop started: up to 30 leads/)
    expect(importStartedSummary(accepted, true)).toContain("no new import was started and nothing more was reserved")
  })

  it("says what to do without Sales Navigator", () => {
    expect(accessSummary({ hasSalesNavigator: false, account: null })).toContain("NO_SALES_NAV_ACCOUNT")
    expect(accessSummary({ hasSalesNavigator: true, account: { id: accepted.listId, name: "a@example.com" } })).toContain("a@example.com")
  })
})

describe("toolError", () => {
  it("keeps the contract's code, message and details, and adds a hint where an agent can act", () => {
    const body = { code: "NO_SALES_NAV_ACCOUNT", error: "No Sales Navigator account found" }
    expect(toolError(body)).toMatchObject({ success: false, ...body, hint: expect.stringContaining("connect") })
    const withDetails = { code: "X_UNKNOWN", error: "e", details: [{ path: "url", message: "m" }] }
    expect(toolError(withDetails)).toEqual({ success: false, ...withDetails })
  })

  it("words the rate limit as the API's 429 body does", () => {
    expect(rateLimitedError(new ImportRateLimited({ retryAfterSeconds: 7 }))).toEqual({
      success: false,
      code: "RATE_LIMITED",
      error: "Too many imports started: try again in 7 s (the limit is per user; see Retry-After)",
      hint: expect.stringContaining("wait")
    })
  })
})
