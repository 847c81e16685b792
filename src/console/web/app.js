// @ts-check
/**
 * The console's entry point: the token (pasted once, kept in this tab's sessionStorage), then
 * the credits, the form, the imports and the rows; the support view works with its own token.
 */
import { refreshAccess, refreshCredits } from "./account.js"
import { messageOf, request, segment, TOKEN_REFUSED, tokens } from "./api.js"
import { byId, setText } from "./dom.js"
import { startImportForm } from "./form.js"
import { startImportsView } from "./imports.js"
import { startRowsView } from "./rows.js"
import { closeAll } from "./stream.js"
import { startSupportView } from "./support.js"

const tokenForm = byId("token-form", HTMLFormElement)
const tokenPanel = byId("token-panel", HTMLElement)
const tokenInput = byId("token", HTMLInputElement)
const tokenError = byId("token-error", HTMLElement)
const forget = byId("forget-token", HTMLButtonElement)
const signedIn = byId("signed-in", HTMLElement)
const signedInAs = byId("signed-in-as", HTMLElement)

/** @type {Map<string, Promise<string>>} */
const listNames = new Map()

/** A list's name (GET /api/lists/{listId}), asked once; rejects with the API's message. @param {string} listId */
const listName = (listId) => {
  let name = listNames.get(listId)
  if (name === undefined) {
    name = request("GET", `/api/lists/${segment(listId)}`).then((reply) => {
      if (!reply.ok) {
        listNames.delete(listId)
        throw new Error(messageOf(reply))
      }
      return String(reply.body.name)
    })
    listNames.set(listId, name)
  }
  return name
}

const rows = startRowsView({ listName })
const imports = startImportsView({
  listName,
  onShowRows: (listId) => {
    void rows.show(listId)
    byId("rows-heading", HTMLElement).scrollIntoView({ block: "start" })
  },
  onEnded: () => void refreshCredits().catch(() => {})
})
const form = startImportForm({
  onStarted: (started) => {
    void refreshCredits().catch(() => {})
    void imports.reload()
    void rows.show(started.listId, [started.runId])
  }
})
startSupportView()

/**
 * Uses a token if the service knows it.
 * @param {string} token
 * @returns {Promise<"ok" | "refused" | "unreachable">}
 */
const signIn = async (token) => {
  setText(tokenError, "")
  let reply
  try {
    reply = await request("GET", "/api/credits", { token })
  } catch {
    setText(tokenError, "The service could not be reached; try again.")
    return "unreachable"
  }
  if (!reply.ok) {
    tokenInput.setAttribute("aria-invalid", "true")
    setText(tokenError, reply.status === 401 ? "This token was not accepted: check that it is complete and has not been revoked." : messageOf(reply))
    return reply.status === 401 ? "refused" : "unreachable"
  }
  tokenInput.removeAttribute("aria-invalid")
  tokens.user = token
  tokenInput.value = ""
  tokenPanel.hidden = true
  signedIn.hidden = false
  signedInAs.hidden = false
  await Promise.all([refreshCredits(), refreshAccess(), imports.reload()]).catch(() => {})
  return "ok"
}

const signOut = () => {
  closeAll()
  tokens.user = ""
  listNames.clear()
  imports.clear()
  rows.clear()
  form.reset()
  signedIn.hidden = true
  signedInAs.hidden = true
  tokenPanel.hidden = false
  tokenInput.focus()
}

tokenForm.addEventListener("submit", (event) => {
  event.preventDefault()
  const token = tokenInput.value.trim()
  if (token === "") {
    tokenInput.setAttribute("aria-invalid", "true")
    return setText(tokenError, "Paste your API token first.")
  }
  void signIn(token).then((outcome) => {
    if (outcome === "ok") byId("import-url", HTMLInputElement).focus()
  })
})
forget.addEventListener("click", signOut)
window.addEventListener(TOKEN_REFUSED, () => {
  if (signedIn.hidden) return
  signOut()
  tokenInput.setAttribute("aria-invalid", "true")
  setText(tokenError, "The service no longer accepts your token (it may have been revoked): paste a valid one.")
})

// A reload keeps the tab's token; one the service no longer accepts is dropped.
if (tokens.user !== "") {
  void signIn(tokens.user).then((outcome) => {
    if (outcome === "refused") tokens.user = ""
  })
}
