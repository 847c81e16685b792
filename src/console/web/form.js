// @ts-check
/**
 * The form that starts an import. Each submission carries an Idempotency-Key; the same request
 * sent again after an answer that left its fate unknown (no answer at all, or "still in
 * progress") reuses it, so a retry can never start a second paid import. Errors are the
 * contract's messages, each next to its field.
 */
import { request } from "./api.js"
import { byId, h, setText } from "./dom.js"
import { errorsOf, FORM_FIELDS, importRequestOf, keyForSubmission, outcomeUnknown } from "./model.js"

/**
 * @param {{ onStarted: (started: { runId: string, listId: string, maxResults: number, wasCapped: boolean }) => void }} options
 */
export const startImportForm = ({ onStarted }) => {
  const form = byId("import-form", HTMLFormElement)
  const submit = byId("start-import", HTMLButtonElement)
  const result = byId("import-result", HTMLElement)
  const newList = byId("new-list-field", HTMLElement)
  const existingList = byId("existing-list-field", HTMLElement)
  /** @type {{ body: string, key: string } | null} */
  let pending = null
  // aria-disabled rather than disabled while a request is out: a disabled button would drop the focus.
  let submitting = false

  const input = (/** @type {string} */ name) => byId(`import-${name}`, HTMLInputElement)
  const target = () => (byId("target-existing", HTMLInputElement).checked ? "existing" : "new")

  const showTarget = () => {
    newList.hidden = target() !== "new"
    existingList.hidden = target() !== "existing"
  }
  for (const radio of form.querySelectorAll('input[name="target"]')) radio.addEventListener("change", showTarget)
  showTarget()

  const clearErrors = () => {
    for (const name of FORM_FIELDS) {
      input(name).removeAttribute("aria-invalid")
      setText(byId(`import-${name}-error`, HTMLElement), "")
    }
    result.replaceChildren()
  }

  /** @param {number} status @param {unknown} body */
  const showErrors = (status, body) => {
    const { fields, form: message } = errorsOf(status, body)
    let first = null
    for (const [name, text] of Object.entries(fields)) {
      const field = input(name)
      field.setAttribute("aria-invalid", "true")
      setText(byId(`import-${name}-error`, HTMLElement), text)
      first ??= field
    }
    result.replaceChildren(h("p", { class: "error" }, message))
    // The first field to fix gets the focus, and with it its message read out.
    if (first !== null && !first.closest("[hidden]")) first.focus()
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault()
    if (submitting) return
    clearErrors()
    const json = importRequestOf({
      url: input("url").value,
      maxResults: input("maxResults").value,
      target: target(),
      listName: input("listName").value,
      listId: input("listId").value
    })
    const body = JSON.stringify(json)
    const key = keyForSubmission(pending, body)
    pending = { body, key }
    submitting = true
    submit.setAttribute("aria-disabled", "true")
    result.replaceChildren(h("p", {}, "Starting…"))
    try {
      const reply = await request("POST", "/api/lists/import-sales-nav", { json, headers: { "idempotency-key": key } })
      if (!outcomeUnknown(reply.status, reply.body)) pending = null
      if (!reply.ok) return showErrors(reply.status, reply.body)
      const started = reply.body
      const lines = [h("p", { class: "ok" }, `Import started: up to ${started.maxResults.toLocaleString("en-US")} leads (run ${started.runId}).`)]
      if (started.wasCapped) {
        lines.push(h("p", { class: "warning" }, `Your credits cover only ${started.maxResults.toLocaleString("en-US")} leads, so the import was shortened to that. Top up credits and import again for the rest.`))
      }
      result.replaceChildren(...lines)
      onStarted(started)
    } catch {
      result.replaceChildren(h("p", { class: "error" }, "The service could not be reached. Submitting the same form again is safe: it cannot start the import twice."))
    } finally {
      submitting = false
      submit.removeAttribute("aria-disabled")
    }
  })

  return {
    /** Clears what the last import left in the form's answers (after the token changes). */
    reset: () => {
      pending = null
      clearErrors()
    }
  }
}
