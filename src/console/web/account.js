// @ts-check
/** The caller's credits and whether they can import at all (a Sales Navigator account). */
import { messageOf, request } from "./api.js"
import { byId, setText } from "./dom.js"

const count = (/** @type {number} */ n) => n.toLocaleString("en-US")

/** Reads and shows the credits; refreshed after every import that starts or ends. */
export const refreshCredits = async () => {
  const reply = await request("GET", "/api/credits")
  if (!reply.ok) return
  setText(byId("credits-available", HTMLElement), count(reply.body.available))
  setText(byId("credits-reserved", HTMLElement), count(reply.body.reserved))
  setText(byId("credits-balance", HTMLElement), count(reply.body.balance))
}

/** Says whether imports can start: they need a connected Sales Navigator account. */
export const refreshAccess = async () => {
  const reply = await request("GET", "/api/lists/sales-nav-access")
  const access = byId("access", HTMLElement)
  if (!reply.ok) return setText(access, messageOf(reply))
  setText(access, reply.body.hasSalesNavigator
    ? `Imports run on ${reply.body.account?.name ?? "your Sales Navigator account"}.`
    : "No Sales Navigator account is connected: connect a LinkedIn account with Sales Navigator before importing.")
}
