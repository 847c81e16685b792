/**
 * Secrets never reach the logs: the real service (`node src/main.ts`, request logging on)
 * is driven through user and admin endpoints with valid, wrong, issued and revoked tokens,
 * good and bad requests; nothing it writes to stdout or stderr contains a token.
 */
import { describe, expect, it } from "@effect/vitest"
import { backend, createScratchDatabase } from "../support/db.ts"
import { PEOPLE_SEARCH } from "../support/fixtures.ts"
import { api, exited, freePort, startService, waitFor } from "../support/service-process.ts"

const ADMIN = `admin-${crypto.randomUUID()}`

describe(`secrets in the logs (${backend})`, () => {
  it("no token, user's or admin's, appears in anything the service writes", async () => {
    const scratch = backend === "postgres" ? await createScratchDatabase() : undefined
    const port = await freePort()
    const output: Array<string> = []
    const child = startService({
      PORT: String(port),
      ADMIN_TOKEN: ADMIN,
      DEMO_USER: "false",
      FAKE_PAGE_LATENCY_MS: "0",
      ...(scratch ? { DATABASE_URL: scratch.url } : { DATABASE_URL: "", PGLITE_DATA_DIR: "memory" })
    }, output)
    try {
      const call = api(port)
      await waitFor("the service", async () => (await call("GET", "/openapi.json")).status === 200 ? true : undefined)
      const user = (await call("POST", "/api/admin/users", ADMIN, { email: "logs@example.com", credits: 100, salesNavigator: true })).body
      const second = (await call("POST", `/api/admin/users/${user.userId}/tokens`, ADMIN)).body
      const secrets = [ADMIN, user.token, second.token]

      expect((await call("GET", "/api/credits", user.token)).status).toBe(200)
      expect((await call("POST", "/api/lists/import-sales-nav", user.token, { url: PEOPLE_SEARCH, maxResults: 5 })).status).toBe(200)
      expect((await call("POST", "/api/lists/import-sales-nav", user.token, { url: "https://example.com/x", maxResults: 5 })).status).toBe(400)
      expect((await call("POST", "/api/lists/import-sales-nav", second.token, { url: PEOPLE_SEARCH, maxResults: 0 })).status).toBe(400)
      expect((await call("GET", "/api/credits", `${user.token}x`)).status).toBe(401)
      expect((await call("POST", "/api/admin/users", `${ADMIN}x`, { email: "x@example.com" })).status).toBe(401)
      expect((await call("DELETE", `/api/admin/tokens/${user.tokenId}`, ADMIN)).status).toBe(204)
      expect((await call("GET", "/api/credits", user.token)).status).toBe(401)
      expect((await call("GET", `/api/imports/run_unknown0123456789abcd?token=${second.token}`, second.token)).status).toBe(404)
      // Let the import run and the request logs flush.
      await new Promise((r) => setTimeout(r, 500))

      const logs = output.join("")
      expect(logs).toContain("Sent HTTP response") // the request log is on: there is something to search
      for (const secret of secrets) expect(logs.includes(secret), `a token was logged: ${secret.slice(0, 8)}…`).toBe(false)
    } finally {
      const gone = exited(child)
      child.kill("SIGKILL")
      await gone
      await scratch?.drop()
    }
  }, 60_000)
})
