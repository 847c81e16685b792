// @ts-check
/**
 * Support staff: any import's timeline by run id (GET /api/support/imports/{runId} with the
 * SUPPORT_TOKEN, which stays in this tab's sessionStorage like the user token).
 */
import { messageOf, request, segment, tokens } from "./api.js"
import { byId, h, setText } from "./dom.js"
import { statusLine, timelineRowsOf } from "./model.js"

export const startSupportView = () => {
  const form = byId("support-form", HTMLFormElement)
  const tokenInput = byId("support-token", HTMLInputElement)
  const runIdInput = byId("support-runId", HTMLInputElement)
  const error = byId("support-error", HTMLElement)
  const result = byId("support-result", HTMLElement)
  const timeline = byId("support-timeline", HTMLTableSectionElement)
  tokenInput.value = tokens.support

  form.addEventListener("submit", async (event) => {
    event.preventDefault()
    const runId = runIdInput.value.trim()
    const token = tokenInput.value.trim()
    setText(error, "")
    runIdInput.removeAttribute("aria-invalid")
    tokenInput.removeAttribute("aria-invalid")
    let reply
    try {
      reply = await request("GET", `/api/support/imports/${segment(runId)}`, { token })
    } catch {
      return setText(error, "The service could not be reached; try again.")
    }
    // A refused token (a user's, a wrong one) is said here, in place, and not kept.
    tokens.support = reply.status === 401 ? "" : token
    if (!reply.ok) {
      result.hidden = true
      const field = reply.status === 401 ? tokenInput : reply.status === 404 || reply.status === 400 ? runIdInput : undefined
      field?.setAttribute("aria-invalid", "true")
      return setText(error, messageOf(reply))
    }
    setText(byId("support-title", HTMLElement), `Import ${reply.body.import.runId} of user ${reply.body.userId}`)
    setText(byId("support-status", HTMLElement), statusLine(reply.body.import))
    timeline.replaceChildren(...timelineRowsOf(reply.body).map((row) =>
      h("tr", {}, h("td", { class: "mono" }, row.at), h("td", {}, row.type), h("td", {}, row.page), h("td", {}, row.summary))
    ))
    result.hidden = false
  })
}
