/**
 * The console's pure part (src/console/web/model.js), run in Node: the progress bar's value,
 * the request a form makes, the Idempotency-Key rule for resubmissions, where each contract
 * error is shown, and the Server-Sent Events parser whatever the network's cuts.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import {
  createSseParser,
  errorsOf,
  importRequestOf,
  type ImportStatus,
  keyForSubmission,
  outcomeUnknown,
  percentOf,
  statusLine,
  timelineRowsOf
} from "../../src/console/web/model.js"

const STATES = ["queued", "running", "completed", "failed", "canceled"] as const

const status = (overrides: Partial<ImportStatus>): ImportStatus => ({
  runId: "run_aaaaaaaaaaaaaaaa",
  listId: "00000000-0000-0000-0000-000000000000",
  status: "running",
  requested: 100,
  maxResults: 100,
  wasCapped: false,
  totalAvailable: null,
  pagesFetched: 0,
  leadsFetched: 0,
  leadsImported: 0,
  skippedExisting: 0,
  skippedDuplicate: 0,
  overCap: 0,
  creditsReserved: 100,
  creditsCharged: 0,
  creditsRefunded: 0,
  completionReason: null,
  cancelRequested: false,
  error: null,
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:00.000Z",
  ...overrides
})

const anyStatus = fc.record({
  status: fc.constantFrom(...STATES),
  maxResults: fc.integer({ min: 1, max: 100_000 }),
  totalAvailable: fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: null }),
  leadsImported: fc.integer({ min: 0, max: 100_000 })
}).map((s) => status({ ...s, leadsImported: Math.min(s.leadsImported, s.maxResults) }))

describe("the progress bar", () => {
  it("is a whole percentage, 100 exactly when the import completed, below it while the import runs", () => {
    fc.assert(fc.property(anyStatus, (s) => {
      const percent = percentOf(s)
      expect(Number.isInteger(percent)).toBe(true)
      expect(percent).toBeGreaterThanOrEqual(0)
      expect(percent).toBeLessThanOrEqual(100)
      if (s.status === "completed") expect(percent).toBe(100)
      if (s.status === "queued" || s.status === "running") expect(percent).toBeLessThan(100)
    }))
  })

  it("never goes back as leads arrive", () => {
    fc.assert(fc.property(anyStatus, fc.nat(), (s, more) => {
      const later = { ...s, leadsImported: Math.min(s.maxResults, s.leadsImported + more) }
      expect(percentOf(later)).toBeGreaterThanOrEqual(percentOf(s))
    }))
  })

  it("measures against what the search can give: a search of 40 results half read is at 50 %", () => {
    expect(percentOf(status({ maxResults: 500, totalAvailable: 40, leadsImported: 20 }))).toBe(50)
    expect(percentOf(status({ maxResults: 5000, leadsImported: 1250 }))).toBe(50)
    expect(statusLine(status({ maxResults: 2500, leadsImported: 1234 }))).toBe("Running · 49 % · 1,234 of 2,500 leads imported")
    expect(statusLine(status({ cancelRequested: true }))).toMatch(/^Canceling/)
  })
})

describe("the import form's request", () => {
  const values = { url: " https://www.linkedin.com/sales/search/people?query=x ", maxResults: "", target: "new", listName: "", listId: "" }

  it("sends what was typed: no maxResults or listName when left empty, numbers as numbers, the rest as text", () => {
    expect(importRequestOf(values)).toEqual({ url: "https://www.linkedin.com/sales/search/people?query=x" })
    expect(importRequestOf({ ...values, maxResults: "40", listName: " Leads " })).toEqual({ url: values.url.trim(), maxResults: 40, listName: "Leads" })
    // The server's VALIDATION_FAILED message says what is wrong with these, not the console.
    expect(importRequestOf({ ...values, maxResults: "ten" }).maxResults).toBe("ten")
    expect(importRequestOf({ ...values, maxResults: "2.5" }).maxResults).toBe(2.5)
    expect(importRequestOf({ ...values, target: "existing", listName: "ignored", listId: " abc " })).toEqual({ url: values.url.trim(), listId: "abc" })
  })

  it("reuses its Idempotency-Key only for the same body after an answer that left the outcome unknown", () => {
    fc.assert(fc.property(fc.string(), fc.string(), (body, other) => {
      const first = keyForSubmission(null, body)
      expect(first).toMatch(/^[\x21-\x7E]{1,255}$/)
      expect(keyForSubmission({ body, key: first }, body)).toBe(first)
      if (other !== body) expect(keyForSubmission({ body, key: first }, other)).not.toBe(first)
    }))
    expect(keyForSubmission(null, "{}")).not.toBe(keyForSubmission(null, "{}"))
    expect(outcomeUnknown(null, undefined)).toBe(true)
    expect(outcomeUnknown(409, { code: "IDEMPOTENCY_KEY_IN_USE" })).toBe(true)
    expect(outcomeUnknown(503, { code: "SERVICE_UNAVAILABLE" })).toBe(true)
    expect(outcomeUnknown(503, { code: "ENQUEUE_FAILED" })).toBe(false)
    expect(outcomeUnknown(200, { success: true })).toBe(false)
    expect(outcomeUnknown(400, { code: "VALIDATION_FAILED" })).toBe(false)
  })
})

describe("where a contract error is shown", () => {
  it("VALIDATION_FAILED: each detail next to its field", () => {
    const { fields, form } = errorsOf(400, {
      success: false,
      code: "VALIDATION_FAILED",
      error: "Invalid request body",
      details: [{ path: "maxResults", message: "Expected a number greater than 0" }, { path: "listName", message: "too long" }]
    })
    expect(fields).toEqual({ maxResults: "Expected a number greater than 0", listName: "too long" })
    expect(form).toMatch(/marked fields/)
  })

  it("a URL or list refused without details goes to that field; what belongs to no field is said for the form", () => {
    expect(errorsOf(400, { code: "INVALID_SALES_NAV_URL", error: "url is a company URL", details: [{ path: "url", message: "url is a company URL" }] }).fields)
      .toEqual({ url: "url is a company URL" })
    expect(errorsOf(403, { code: "LIST_FORBIDDEN", error: "List not found or not yours" }).fields).toEqual({ listId: "List not found or not yours" })
    expect(errorsOf(400, { code: "NO_SALES_NAV_ACCOUNT", error: "No Sales Navigator account found" }))
      .toEqual({ fields: {}, form: "No Sales Navigator account found" })
    expect(errorsOf(400, { code: "VALIDATION_FAILED", error: "Invalid request body", details: [{ path: "body", message: "Expected an object" }] }))
      .toEqual({ fields: {}, form: "Invalid request body — body: Expected an object" })
    expect(errorsOf(502, "Bad Gateway").form).toBe("The server answered 502")
  })
})

describe("the Server-Sent Events parser", () => {
  const message = fc.record({
    id: fc.option(fc.stringMatching(/^[0-9]{1,6}\.[0-9]{1,6}$/), { nil: undefined }),
    event: fc.constantFrom("progress", "rows", "end"),
    data: fc.array(fc.string({ unit: fc.constantFrom("a", "b", "{", "}", ":", " ", "\"", "é", "😀") }), { minLength: 1, maxLength: 3 })
  })

  it("reads the same messages however the text is cut, with \\n or \\r\\n lines and keep-alive comments between", () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(message, fc.boolean()), { maxLength: 8 }),
      fc.boolean(),
      fc.array(fc.nat(), { maxLength: 12 }),
      (messages, crlf, cuts) => {
        const eol = crlf ? "\r\n" : "\n"
        const text = messages.map(([m, comment]) =>
          (comment ? `: keep-alive${eol}${eol}` : "") +
          (m.id !== undefined ? `id: ${m.id}${eol}` : "") +
          `event: ${m.event}${eol}` +
          m.data.map((d) => `data: ${d}${eol}`).join("") + eol
        ).join("")
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b)
        const parser = createSseParser()
        const read = [0, ...points].map((from, i) => parser.push(text.slice(from, points[i] ?? text.length))).flat()
        let lastId: string | undefined
        const expected = messages.map(([m]) => {
          lastId = m.id ?? lastId
          return { id: lastId, event: m.event, data: m.data.join("\n") }
        })
        expect(read).toEqual(expected)
        expect(parser.lastEventId).toBe(lastId)
      }
    ))
  })

  it("keeps a message cut mid-way until its end arrives", () => {
    const parser = createSseParser()
    expect(parser.push("id: 1.2\nevent: rows\ndata: {\"rows\":")).toEqual([])
    expect(parser.push("[]}\n\n")).toEqual([{ id: "1.2", event: "rows", data: "{\"rows\":[]}" }])
  })
})

describe("the support timeline", () => {
  it("shows each step with its time in UTC, its page when it has one, and its summary", () => {
    expect(timelineRowsOf({
      timeline: [
        { at: "2026-01-02T03:04:05.678Z", type: "ImportRequested", page: null, summary: "asked for 100 leads" },
        { at: "2026-01-02T03:04:06.000Z", type: "PageFetched", page: 1, summary: "25 leads" }
      ]
    })).toEqual([
      { at: "2026-01-02 03:04:05Z", type: "ImportRequested", page: "", summary: "asked for 100 leads" },
      { at: "2026-01-02 03:04:06Z", type: "PageFetched", page: "1", summary: "25 leads" }
    ])
  })
})
