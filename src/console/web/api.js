// @ts-check
/**
 * Calls to the service's API with the token of this tab. The token is sent in the Authorization
 * header only — never in a URL, where it would end up in logs and history.
 */

/** @typedef {{ status: number, ok: boolean, body: any }} Reply */

const TOKEN_KEY = "sni.token"
/** The window event sent when the service refuses the tab's user token. */
export const TOKEN_REFUSED = "console:token-refused"
const SUPPORT_TOKEN_KEY = "sni.supportToken"

/** The tokens live in sessionStorage: gone with the tab, never shared with other tabs. */
export const tokens = {
  get user() {
    return sessionStorage.getItem(TOKEN_KEY) ?? ""
  },
  set user(value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value)
    else sessionStorage.removeItem(TOKEN_KEY)
  },
  get support() {
    return sessionStorage.getItem(SUPPORT_TOKEN_KEY) ?? ""
  },
  set support(value) {
    if (value) sessionStorage.setItem(SUPPORT_TOKEN_KEY, value)
    else sessionStorage.removeItem(SUPPORT_TOKEN_KEY)
  }
}

/**
 * One request; the body parsed as JSON when it is. Throws only when no answer came (network).
 * @param {string} method
 * @param {string} path
 * @param {{ token?: string, json?: unknown, headers?: Record<string, string> }} [options]
 * @returns {Promise<Reply>}
 */
export const request = async (method, path, options = {}) => {
  /** @type {Record<string, string>} */
  const headers = { accept: "application/json", ...options.headers }
  const token = options.token ?? tokens.user
  if (token) headers.authorization = `Bearer ${token}`
  /** @type {RequestInit} */
  const init = { method, headers, cache: "no-store" }
  if (options.json !== undefined) {
    headers["content-type"] = "application/json"
    init.body = JSON.stringify(options.json)
  }
  const response = await fetch(path, init)
  // The tab's token stopped working (revoked, or the service's data was reset): the page signs out.
  // Only for calls made with it: a token given explicitly (signing in, the support view's) is the caller's to judge,
  // even when it is the same text — a user's token pasted as the support token must not sign the page out.
  if (response.status === 401 && options.token === undefined && token !== "") window.dispatchEvent(new Event(TOKEN_REFUSED))
  const text = await response.text()
  let body = null
  try {
    body = text === "" ? null : JSON.parse(text)
  } catch {
    body = { success: false, code: `HTTP_${response.status}`, error: text.slice(0, 200) }
  }
  return { status: response.status, ok: response.ok, body }
}

/** The error message of an answer that is not 2xx, as the contract words it. @param {Reply} reply */
export const messageOf = (reply) =>
  typeof reply.body?.error === "string" ? reply.body.error : `The server answered ${reply.status}`

/** @param {string} segment */
export const segment = (segment) => encodeURIComponent(segment)
