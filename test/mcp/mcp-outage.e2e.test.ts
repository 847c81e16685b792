/**
 * The MCP endpoint while the database is unreachable (PGlite, its connection cut at the Database
 * edge by support/database-outage.ts, so it runs in both passes): `initialize` answers 503
 * SERVICE_UNAVAILABLE with Retry-After, as the API does; in an open session, a tool call that
 * meets the outage at the door (the bearer check) is a 503 for its HTTP request, and one that
 * meets it inside the tool is a tool error with code SERVICE_UNAVAILABLE. Nothing is written,
 * and the same session works again once the database is back.
 */
import { expect, layer } from "@effect/vitest"
import { Cause, Effect } from "effect"
import { outageSwitch, PGliteWithOutage } from "../support/database-outage.ts"
import { makeUser, PEOPLE_SEARCH, snapshotOf } from "../support/fixtures.ts"
import { connectAgent } from "../support/mcp.ts"
import { call, client, TestApp } from "../support/server.ts"

const outage = outageSwitch()

const INITIALIZE = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "outage-probe", version: "1" } }
}

/** The statement of the bearer check: the outage starts right after it, inside the tool. */
const BEARER_CHECK = /from "api_tokens"/

layer(TestApp({}, { database: PGliteWithOutage(outage) }), { excludeTestServices: true })("MCP while the database is unreachable", (it) => {
  it.effect("initialize: 503 SERVICE_UNAVAILABLE with Retry-After, from a bare request and from the official client", () =>
    Effect.gen(function*() {
      const api = yield* client
      const user = yield* makeUser()
      outage.down()
      const bare = yield* call(() =>
        api.request("POST", "/mcp", { token: user.token, json: INITIALIZE, headers: { accept: "application/json, text/event-stream" } })
      )
      expect(bare.status).toBe(503)
      expect(bare.body).toMatchObject({ success: false, code: "SERVICE_UNAVAILABLE" })
      expect(bare.headers.get("retry-after")).toBe("5")
      const refused = yield* Effect.scoped(connectAgent(user.token)).pipe(Effect.exit)
      expect(refused._tag).toBe("Failure")
      // (The client's error says the answer's body, not its status; the bare request above shows the 503.)
      expect(String(refused._tag === "Failure" ? Cause.squash(refused.cause) : "")).toContain('"code":"SERVICE_UNAVAILABLE"')
      outage.up()
      const agent = yield* connectAgent(user.token)
      expect((yield* agent.call("get_credits")).isError).toBe(false)
    }).pipe(Effect.ensuring(Effect.sync(outage.up))))

  it.effect("a tool call in an open session: 503 at the door, a SERVICE_UNAVAILABLE tool error inside; nothing written; fine once back", () =>
    Effect.gen(function*() {
      const user = yield* makeUser({ credits: 100 })
      const agent = yield* connectAgent(user.token)
      const before = yield* snapshotOf(user.userId)
      const importArgs = { url: `${PEOPLE_SEARCH}&mcp-outage=${crypto.randomUUID().slice(0, 8)}`, maxResults: 10 }

      // At the door: the bearer check cannot run, and the HTTP request is answered 503.
      outage.down()
      const atTheDoor = yield* call(() => agent.mcp.callTool({ name: "import_sales_nav", arguments: importArgs }).then(() => "answered", (e: unknown) => e))
      expect(atTheDoor).toMatchObject({ code: 503, message: expect.stringContaining("SERVICE_UNAVAILABLE") })
      outage.up()

      // Inside: the token checked, then the database goes away before the tool's first statement.
      for (const [name, args] of [["import_sales_nav", importArgs], ["get_credits", {}], ["list_imports", {}]] as const) {
        outage.downAfter(BEARER_CHECK)
        const inside = yield* agent.call(name, args)
        outage.up()
        expect(inside.isError, name).toBe(true)
        expect(inside.body, name).toMatchObject({ success: false, code: "SERVICE_UNAVAILABLE", error: expect.any(String), hint: expect.any(String) })
      }

      // The timeline resource says so too (resources have no tool errors: the read fails with the code).
      const listed = (yield* agent.call("list_imports", { limit: 1 })).body
      expect(listed.imports).toEqual([])
      outage.downAfter(BEARER_CHECK)
      const resource = yield* call(() => agent.mcp.readResource({ uri: `sales-nav-import://imports/run_${"a".repeat(24)}/timeline` }).then(() => "read", String))
      outage.up()
      expect(resource).toContain("SERVICE_UNAVAILABLE")

      expect(yield* snapshotOf(user.userId)).toEqual(before)
      const credits = yield* agent.call("get_credits")
      expect(credits.body).toMatchObject({ balance: 100, reserved: 0, available: 100 })
      const started = yield* agent.call("import_sales_nav", importArgs)
      expect(started.isError).toBe(false)
      expect(started.body).toMatchObject({ success: true, replayed: false })
    }).pipe(Effect.ensuring(Effect.sync(outage.up))))
})
