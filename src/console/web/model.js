// @ts-check
/**
 * The console's pure part — no DOM, no network — so the tests can run it in Node: how far an
 * import has got, what to say about it, the request a form's values make, which field an API
 * error belongs to, and a Server-Sent Events parser that does not care how the bytes are cut.
 */

/**
 * @typedef {"queued" | "running" | "completed" | "failed" | "canceled"} ImportState
 * @typedef {{
 *   runId: string, listId: string, status: ImportState, requested: number, maxResults: number,
 *   wasCapped: boolean, totalAvailable?: number | null, pagesFetched: number, leadsFetched: number,
 *   leadsImported: number, skippedExisting: number, skippedDuplicate: number, overCap?: number,
 *   creditsReserved: number, creditsCharged: number, creditsRefunded: number,
 *   completionReason?: string | null, cancelRequested?: boolean, error?: string | null,
 *   createdAt: string, updatedAt: string
 * }} ImportStatus
 * @typedef {{ id: string | undefined, event: string, data: string }} SseMessage
 * @typedef {{ success: false, error: string, code: string, details?: Array<{ path: string, message: string }> }} ApiError
 */

/** Sales Navigator shows at most this many results of a search. */
export const SEARCH_LIMIT = 2500

/** @param {ImportStatus} status */
export const isActive = (status) => status.status === "queued" || status.status === "running"

/**
 * How many leads the import can still hope for: its cap, or fewer when the search (or Sales
 * Navigator's 2,500) has fewer.
 * @param {ImportStatus} status
 */
export const targetOf = (status) =>
  Math.max(1, Math.min(status.maxResults, status.totalAvailable ?? Infinity, SEARCH_LIMIT))

/**
 * The bar's value, a whole percentage: 100 only once the import has completed (a running import
 * that has all its leads still has its refund to do); where it stopped for one that failed or
 * was canceled.
 * @param {ImportStatus} status
 */
export const percentOf = (status) => {
  if (status.status === "completed") return 100
  const percent = Math.floor((100 * Math.max(0, status.leadsImported)) / targetOf(status))
  return Math.min(isActive(status) ? 99 : 100, percent)
}

/** @type {Record<ImportState, string>} */
const STATE_NAMES = { queued: "Queued", running: "Running", completed: "Completed", failed: "Failed", canceled: "Canceled" }

/** @type {Record<string, string>} */
const REASONS = {
  cap_reached: "it reached its maximum",
  search_exhausted: "the search had no more results",
  reachable_limit: "Sales Navigator shows no more than 2,500 results of a search",
  upstream_truncated: "LinkedIn stopped returning results before the end of the search",
  canceled: "it was canceled"
}

const count = (/** @type {number} */ n) => n.toLocaleString("en-US")

/** "1 page", "3 pages". @param {number} n @param {string} one @param {string} many */
const plural = (n, one, many) => `${count(n)} ${n === 1 ? one : many}`

/** "Running · 42 % · 105 of 250 leads imported" @param {ImportStatus} status */
export const statusLine = (status) => {
  const state = status.status === "running" && status.cancelRequested ? "Canceling" : STATE_NAMES[status.status]
  return `${state} · ${percentOf(status)} % · ${count(status.leadsImported)} of ${count(status.maxResults)} leads imported`
}

/** The counters a person asks about when there are fewer rows than they hoped. @param {ImportStatus} status */
export const detailsLine = (status) => {
  const parts = [
    plural(status.pagesFetched, "page", "pages"),
    plural(status.leadsFetched, "lead fetched", "leads fetched"),
    plural(status.skippedDuplicate, "duplicate", "duplicates"),
    `${count(status.skippedExisting)} already in your lists`
  ]
  if (status.overCap) parts.push(`${count(status.overCap)} over the maximum`)
  if (status.totalAvailable !== null && status.totalAvailable !== undefined) parts.push(`${count(status.totalAvailable)} in the search`)
  parts.push(`credits: ${count(status.creditsCharged)} charged, ${count(status.creditsRefunded)} refunded`)
  return parts.join(" · ")
}

/** Why it ended (or failed), in words; empty while it runs. @param {ImportStatus} status */
export const outcomeLine = (status) => {
  if (status.status === "failed") return `Failed: ${status.error ?? "unknown error"}`
  if (isActive(status)) return ""
  const reason = status.completionReason ? REASONS[status.completionReason] ?? status.completionReason : ""
  return reason ? `Ended because ${reason}.` : ""
}

/** The progress worth announcing to a screen reader: a change of state, or each quarter. @param {ImportStatus} status */
export const milestoneOf = (status) => `${status.status}:${Math.floor(percentOf(status) / 25)}`

/**
 * The body of POST /api/lists/import-sales-nav from the form's values. What the person typed is
 * sent as it is (a number when it reads as one), so the server's own messages say what is wrong.
 * @param {{ url: string, maxResults: string, target: string, listName: string, listId: string }} values
 */
export const importRequestOf = (values) => {
  /** @type {Record<string, unknown>} */
  const body = { url: values.url.trim() }
  const max = values.maxResults.trim()
  if (max !== "") body.maxResults = /^-?\d+(\.\d+)?$/.test(max) ? Number(max) : max
  if (values.target === "existing") body.listId = values.listId.trim()
  else if (values.listName.trim() !== "") body.listName = values.listName.trim()
  return body
}

/** A fresh Idempotency-Key (crypto.getRandomValues works outside secure contexts too). */
export const newIdempotencyKey = () =>
  `console-${Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("")}`

/**
 * The key for a submission: the pending one when the same body is sent again after an answer
 * that left its fate unknown (a network error, or 409 "still in progress"), else a new one.
 * @param {{ body: string, key: string } | null} pending
 * @param {string} body
 */
export const keyForSubmission = (pending, body) => (pending !== null && pending.body === body ? pending.key : newIdempotencyKey())

/**
 * Whether a submission's outcome is still unknown after this answer, so a retry must reuse its key.
 * @param {number | null} status null for a network error
 * @param {unknown} body
 */
export const outcomeUnknown = (status, body) =>
  status === null || (status >= 500 && codeOf(body) !== "ENQUEUE_FAILED") || codeOf(body) === "IDEMPOTENCY_KEY_IN_USE"

/** @param {unknown} body */
const codeOf = (body) => (typeof body === "object" && body !== null && "code" in body ? String(body.code) : undefined)

/** The import form's fields, by the request's field names. */
export const FORM_FIELDS = ["url", "maxResults", "listName", "listId"]

/** Codes that belong to one field of the import form although the server names no `details`. */
const FIELD_OF_CODE = /** @type {Record<string, string>} */ ({ INVALID_SALES_NAV_URL: "url", LIST_FORBIDDEN: "listId" })

/**
 * Splits an error answer into the contract's messages per form field and one for the form as a
 * whole (what belongs to no field: no Sales Navigator account, no credits, a malformed body…).
 * @param {number} status
 * @param {unknown} body
 * @returns {{ fields: Record<string, string>, form: string }}
 */
export const errorsOf = (status, body) => {
  /** @type {Record<string, string>} */
  const fields = {}
  /** @type {Array<string>} */
  const rest = []
  const error = /** @type {Partial<ApiError>} */ (typeof body === "object" && body !== null ? body : {})
  const message = typeof error.error === "string" ? error.error : `The server answered ${status}`
  for (const detail of Array.isArray(error.details) ? error.details : []) {
    const field = String(detail.path).split(".")[0] ?? ""
    if (FORM_FIELDS.includes(field)) fields[field] = fields[field] ? `${fields[field]}; ${detail.message}` : String(detail.message)
    else rest.push(`${detail.path}: ${detail.message}`)
  }
  const field = error.code ? FIELD_OF_CODE[error.code] : undefined
  if (field !== undefined && fields[field] === undefined) fields[field] = message
  const form = Object.keys(fields).length > 0 && rest.length === 0
    ? "The import was not started: see the marked fields."
    : [message, ...rest].join(" — ")
  return { fields, form }
}

/**
 * A Server-Sent Events parser: push text as it arrives, in any pieces, and get the complete
 * messages. Comments (keep-alives) are dropped; `id` is remembered across messages as the
 * specification says, so the last one is what a reconnect sends as Last-Event-ID.
 */
export const createSseParser = () => {
  let buffer = ""
  let pendingCr = ""
  /** @type {string | undefined} */
  let lastEventId
  return {
    get lastEventId() {
      return lastEventId
    },
    /** @param {string} text @returns {Array<SseMessage>} */
    push(text) {
      let piece = pendingCr + text
      pendingCr = ""
      // A \r at the end may be the first half of a \r\n: it waits for the next piece.
      if (piece.endsWith("\r")) {
        pendingCr = "\r"
        piece = piece.slice(0, -1)
      }
      buffer += piece.replace(/\r\n?/g, "\n")
      /** @type {Array<SseMessage>} */
      const messages = []
      let cut
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut)
        buffer = buffer.slice(cut + 2)
        let event = "message"
        /** @type {Array<string>} */
        const data = []
        let hasField = false
        for (const line of block.split("\n")) {
          if (line === "" || line.startsWith(":")) continue
          const colon = line.indexOf(":")
          const name = colon < 0 ? line : line.slice(0, colon)
          const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "")
          if (name === "event") event = value
          else if (name === "data") data.push(value)
          else if (name === "id" && !value.includes("\0")) lastEventId = value
          else continue
          hasField = true
        }
        if (hasField && data.length > 0) messages.push({ id: lastEventId, event, data: data.join("\n") })
      }
      return messages
    }
  }
}

/**
 * One import's timeline as the support view shows it: time, step, page, what happened.
 * @param {{ timeline?: Array<{ at: string, type: string, page?: number | null, summary: string }> }} body
 */
export const timelineRowsOf = (body) =>
  (body.timeline ?? []).map((entry) => ({
    at: new Date(entry.at).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z"),
    type: entry.type,
    page: entry.page === null || entry.page === undefined ? "" : String(entry.page),
    summary: entry.summary
  }))
