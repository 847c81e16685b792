// @ts-check
/**
 * The caller's imports, newest first, a page at a time (GET /api/imports), each with a progress
 * bar fed by its stream while it runs, and a Cancel button. At most three streams are opened
 * here (a browser has six connections per server); running imports beyond them are refreshed
 * by reloading the page every few seconds, and while anything runs the page is reloaded now and
 * then anyway, so a stream that stalls somewhere on the way cannot freeze a bar.
 */
import { messageOf, request, segment, tokens } from "./api.js"
import { announce, byId, h, setText } from "./dom.js"
import { detailsLine, isActive, milestoneOf, outcomeLine, percentOf, statusLine } from "./model.js"
import { follow } from "./stream.js"

/** @typedef {import("./model.js").ImportStatus} ImportStatus */

const PAGE_SIZE = 10
const MAX_STREAMS = 3
const POLL_UNFOLLOWED_MS = 4_000
const POLL_FOLLOWED_MS = 15_000

/**
 * @typedef {{
 *   item: HTMLLIElement, bar: HTMLProgressElement, status: HTMLElement, details: HTMLElement,
 *   outcome: HTMLElement, error: HTMLElement, cancel: HTMLButtonElement, showRows: HTMLButtonElement,
 *   title: HTMLElement, last: ImportStatus, milestone: string, unfollow: (() => void) | undefined
 * }} Shown
 */

/**
 * @param {{ onShowRows: (listId: string) => void, onEnded: (status: ImportStatus) => void, listName: (listId: string) => Promise<string> }} options
 */
export const startImportsView = ({ onShowRows, onEnded, listName }) => {
  const list = byId("imports", HTMLOListElement)
  const filter = byId("status-filter", HTMLSelectElement)
  const newer = byId("imports-prev", HTMLButtonElement)
  const older = byId("imports-next", HTMLButtonElement)
  const pageLabel = byId("imports-page", HTMLElement)
  const pager = byId("imports-pager", HTMLElement)
  const message = byId("imports-message", HTMLElement)
  const knownLists = byId("known-lists", HTMLDataListElement)
  let offset = 0
  /** @type {Map<string, Shown>} */
  const shown = new Map()
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let poll

  /** Shows a status, announcing a change of state or each quarter of the way. @param {Shown} entry @param {ImportStatus} status */
  const update = (entry, status) => {
    // An older status (a reload that raced the stream) never moves the bar back.
    if (Date.parse(status.updatedAt) < Date.parse(entry.last.updatedAt)) return
    const wasActive = isActive(entry.last)
    entry.last = status
    entry.item.dataset.status = status.status
    entry.bar.value = percentOf(status)
    entry.bar.setAttribute("aria-valuetext", statusLine(status))
    setText(entry.status, statusLine(status))
    setText(entry.details, detailsLine(status))
    setText(entry.outcome, outcomeLine(status))
    const active = isActive(status)
    if (!active && document.activeElement === entry.cancel) entry.showRows.focus()
    entry.cancel.hidden = !active
    entry.cancel.disabled = !active || status.cancelRequested === true
    const milestone = milestoneOf(status)
    if (milestone !== entry.milestone) {
      entry.milestone = milestone
      announce(`${entry.title.textContent}: ${statusLine(status)}`)
    }
    if (wasActive && !active) {
      entry.unfollow?.()
      entry.unfollow = undefined
      onEnded(status)
    }
  }

  /** @param {ImportStatus} status @returns {Shown} */
  const render = (status) => {
    const id = `import-${status.runId}`
    const startedAt = new Date(status.createdAt).toLocaleString()
    const title = h("h3", { id: `${id}-title` }, `Import of ${startedAt}`)
    const bar = h("progress", { max: "100", value: "0", "aria-labelledby": `${id}-title` })
    const cancel = h("button", { type: "button", class: "danger", "aria-describedby": `${id}-title` }, "Cancel import")
    const showRows = h("button", { type: "button", class: "secondary", "aria-describedby": `${id}-title` }, "Show rows")
    const entry = {
      item: h("li", { class: "import", id, "data-run-id": status.runId, "data-list-id": status.listId }),
      bar,
      title,
      status: h("p", { class: "import-status" }),
      details: h("p", { class: "import-details" }),
      outcome: h("p", { class: "import-outcome" }),
      error: h("p", { class: "field-error", role: "alert" }),
      cancel,
      showRows,
      last: status,
      milestone: milestoneOf(status),
      unfollow: undefined
    }
    const meta = h("p", { class: "import-meta" }, `Started ${startedAt} · run `, h("span", { class: "mono" }, status.runId))
    // Named after its list once the name is known.
    listName(status.listId).then((name) => setText(title, `Into “${name}”`), () => {})
    entry.item.append(title, meta, bar, entry.status, entry.details, entry.outcome)
    if (status.wasCapped) {
      entry.item.append(h("p", { class: "warning" }, `Shortened to ${status.maxResults.toLocaleString("en-US")} leads (of ${status.requested.toLocaleString("en-US")} asked for): that is what the credits covered.`))
    }
    entry.item.append(h("div", { class: "actions" }, showRows, cancel), entry.error)
    showRows.addEventListener("click", () => onShowRows(status.listId))
    cancel.addEventListener("click", () => cancelImport(entry))
    update(entry, status)
    return entry
  }

  /** @param {Shown} entry */
  const cancelImport = async (entry) => {
    // The button goes away once the import has ended: the focus moves on to its neighbour first.
    if (document.activeElement === entry.cancel) entry.showRows.focus()
    entry.cancel.disabled = true
    setText(entry.error, "")
    try {
      const reply = await request("POST", `/api/imports/${segment(entry.last.runId)}/cancel`)
      if (reply.ok) update(entry, reply.body)
      else {
        setText(entry.error, messageOf(reply))
        entry.cancel.disabled = false
        if (reply.status === 409) void load()
      }
    } catch {
      setText(entry.error, "The service could not be reached; try again.")
      entry.cancel.disabled = false
    }
  }

  /** Follows the first running imports of the page on their streams. */
  const followActive = () => {
    let following = [...shown.values()].filter((e) => e.unfollow !== undefined).length
    for (const entry of shown.values()) {
      if (following >= MAX_STREAMS) break
      if (!isActive(entry.last) || entry.unfollow !== undefined) continue
      following++
      entry.unfollow = follow(entry.last.runId, tokens.user, (event, data) => {
        if (event === "progress" || event === "end") update(entry, data)
        if (event === "closed") {
          entry.unfollow = undefined
          schedulePoll()
        }
      })
    }
    schedulePoll()
  }

  /** While imports run the page reloads: often for those without a stream here, seldom otherwise. */
  const schedulePoll = () => {
    clearTimeout(poll)
    const active = [...shown.values()].filter((e) => isActive(e.last))
    if (active.length === 0) return
    const unfollowed = active.some((e) => e.unfollow === undefined)
    poll = setTimeout(() => void load(), unfollowed ? POLL_UNFOLLOWED_MS : POLL_FOLLOWED_MS)
  }

  const load = async () => {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(offset) })
    if (filter.value !== "") query.set("status", filter.value)
    let reply
    try {
      reply = await request("GET", `/api/imports?${query}`)
    } catch {
      setText(message, "The service could not be reached; the list will refresh when you ask again.")
      return
    }
    if (!reply.ok) return setText(message, messageOf(reply))
    /** @type {Array<ImportStatus>} */
    const imports = reply.body.imports
    const keep = new Set(imports.map((i) => i.runId))
    for (const [runId, entry] of shown) {
      if (keep.has(runId)) continue
      entry.unfollow?.()
      shown.delete(runId)
    }
    const items = imports.map((status) => {
      const entry = shown.get(status.runId)
      if (entry === undefined) {
        const created = render(status)
        shown.set(status.runId, created)
        return created.item
      }
      update(entry, status)
      return entry.item
    })
    // Moves only what moved, so a focused button keeps its focus.
    items.forEach((item, index) => {
      if (list.children[index] !== item) list.insertBefore(item, list.children[index] ?? null)
    })
    while (list.children.length > items.length) list.lastElementChild?.remove()
    const total = reply.body.total
    setText(message, total === 0 ? (filter.value ? `No ${filter.value} imports.` : "No imports yet: start one above.") : "")
    setText(pageLabel, total === 0 ? "" : `${offset + 1}–${offset + imports.length} of ${total}`)
    newer.disabled = offset === 0
    older.disabled = !reply.body.hasMore
    pager.hidden = offset === 0 && !reply.body.hasMore
    knownLists.replaceChildren(...[...new Set(imports.map((i) => i.listId))].map((id) => h("option", { value: id })))
    followActive()
  }

  filter.addEventListener("change", () => {
    offset = 0
    void load()
  })
  byId("refresh-imports", HTMLButtonElement).addEventListener("click", () => void load())
  newer.addEventListener("click", () => {
    offset = Math.max(0, offset - PAGE_SIZE)
    void load()
  })
  older.addEventListener("click", () => {
    offset += PAGE_SIZE
    void load()
  })

  return {
    /** Shows the newest page again (after an import started). */
    reload: () => {
      offset = 0
      return load()
    },
    /** Forgets everything shown and closes the streams (the token changed). */
    clear: () => {
      clearTimeout(poll)
      for (const entry of shown.values()) entry.unfollow?.()
      shown.clear()
      list.replaceChildren()
    }
  }
}
