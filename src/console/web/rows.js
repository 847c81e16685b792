// @ts-check
/**
 * The rows of one list, oldest first, growing while imports into it run: it listens to the
 * streams of the list's running imports first, then reads the rows already there
 * (GET /api/lists/{listId}/rows), so every row shows once whichever way it arrived.
 */
import { messageOf, request, segment, tokens } from "./api.js"
import { announce, byId, h, setText } from "./dom.js"
import { follow } from "./stream.js"

/**
 * @typedef {{ id: string, linkedinUrl: string | null, profileData: { fullName: string, currentRole?: string | null, currentCompany?: string | null, location?: string | null } }} Row
 * @typedef {{ listId: string, ids: Set<string>, pending: Array<Row> | null, unfollows: Array<() => void>, live: number }} Shown
 */

const PAGE = 500

/** A link only for a web address: a row's URL comes from LinkedIn, never trusted as a scheme. @param {Row} row */
const nameCell = (row) =>
  row.linkedinUrl !== null && /^https:\/\//i.test(row.linkedinUrl)
    ? h("td", {}, h("a", { href: row.linkedinUrl, rel: "noopener noreferrer", target: "_blank" }, row.profileData.fullName))
    : h("td", {}, row.profileData.fullName)

/** @param {{ listName: (listId: string) => Promise<string> }} options */
export const startRowsView = ({ listName }) => {
  const form = byId("rows-form", HTMLFormElement)
  const input = byId("rows-listId", HTMLInputElement)
  const error = byId("rows-error", HTMLElement)
  const summary = byId("rows-summary", HTMLElement)
  const table = byId("rows-table", HTMLTableElement)
  const body = byId("rows-body", HTMLTableSectionElement)
  const count = byId("rows-count", HTMLElement)
  const live = byId("rows-live", HTMLElement)
  /** @type {Shown | null} */
  let current = null

  /** @param {Shown} shown @param {Array<Row>} rows */
  const append = (shown, rows) => {
    if (shown.pending !== null) return void shown.pending.push(...rows)
    const fragment = document.createDocumentFragment()
    for (const row of rows) {
      if (shown.ids.has(row.id)) continue
      shown.ids.add(row.id)
      const p = row.profileData
      fragment.append(h("tr", { "data-row-id": row.id },
        h("td", {}, String(shown.ids.size)), nameCell(row),
        h("td", {}, p.currentRole ?? ""), h("td", {}, p.currentCompany ?? ""), h("td", {}, p.location ?? "")))
    }
    body.append(fragment)
    setText(count, shown.ids.size.toLocaleString("en-US"))
  }

  /** Says whether rows are still coming; once the last import feeding the list has ended and every row is shown, announces it. @param {Shown} shown @param {boolean} fed */
  const showLive = (shown, fed) => {
    setText(live, shown.live > 0 ? " · new rows appear as they are imported" : "")
    if (fed && shown.live === 0 && shown.pending === null && current === shown) announce(`All rows of the list are in: ${shown.ids.size} rows.`)
  }

  const stop = () => {
    for (const unfollow of current?.unfollows ?? []) unfollow()
    current = null
  }

  /**
   * Shows a list's rows and follows its running imports (and `runIds`, just started).
   * @param {string} listId
   * @param {Array<string>} [runIds]
   */
  const show = (listId, runIds = []) =>
    load(listId, runIds).catch(() => setText(error, "The service could not be reached; show the rows again to retry."))

  /** @param {string} listId @param {Array<string>} runIds */
  const load = async (listId, runIds) => {
    stop()
    /** @type {Shown} */
    const shown = { listId, ids: new Set(), pending: [], unfollows: [], live: 0 }
    current = shown
    input.value = listId
    setText(error, "")
    input.removeAttribute("aria-invalid")
    body.replaceChildren()
    setText(count, "0")
    const stale = () => current !== shown
    try {
      const name = await listName(listId)
      if (stale()) return
      setText(byId("rows-list-name", HTMLElement), `“${name}”`)
    } catch (e) {
      if (stale()) return
      summary.hidden = table.hidden = true
      input.setAttribute("aria-invalid", "true")
      return setText(error, e instanceof Error ? e.message : String(e))
    }
    summary.hidden = table.hidden = false
    const feeding = new Set(runIds)
    for (const state of ["running", "queued"]) {
      const reply = await request("GET", `/api/imports?status=${state}&limit=100`)
      for (const status of reply.ok ? reply.body.imports : []) if (status.listId === listId) feeding.add(status.runId)
    }
    if (stale()) return
    for (const runId of feeding) {
      shown.live++
      let open = true
      shown.unfollows.push(follow(runId, tokens.user, (event, data) => {
        if (event === "rows") append(shown, data.rows)
        if ((event === "end" || event === "closed") && open) {
          open = false
          shown.live--
          showLive(shown, true)
        }
      }))
    }
    showLive(shown, false)
    // Rows committed before the streams were listened to are all here; the rest come on them.
    const already = []
    for (let offset = 0;; offset += PAGE) {
      const reply = await request("GET", `/api/lists/${segment(listId)}/rows?limit=${PAGE}&offset=${offset}`)
      if (stale()) return
      if (!reply.ok) return setText(error, messageOf(reply))
      already.push(...reply.body.rows)
      if (!reply.body.hasMore) break
    }
    const streamed = shown.pending ?? []
    shown.pending = null
    append(shown, [...already, ...streamed])
    showLive(shown, feeding.size > 0)
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault()
    void show(input.value.trim())
  })

  return { show, clear: () => {
    stop()
    body.replaceChildren()
    summary.hidden = table.hidden = true
  } }
}
