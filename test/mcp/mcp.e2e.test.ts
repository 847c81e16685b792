/**
 * The MCP endpoint driven by the official TypeScript MCP client over a real socket, on the
 * database of the run (PGlite or PostgreSQL): the tools listed with their schemas; an agent's
 * whole session (access → import → get_import until completed → list_rows = the list's rows
 * over HTTP); a retried import answering the same runId and reserving once; a capped import
 * saying so; the contract's error codes as tool errors, with the API's bodies, changing nothing;
 * cancel; the timeline resource; no token, no MCP; and no calls from browser pages.
 */
import { expect, layer } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import { makeUser, PEOPLE_SEARCH, snapshotOf } from "../support/fixtures.ts"
import { allRows } from "../support/imports.ts"
import { type Agent, connectAgent } from "../support/mcp.ts"
import { eventually } from "../support/eventually.ts"
import { call, client, TestApp } from "../support/server.ts"

const search = (extra = "") => `${PEOPLE_SEARCH}&mcp=${crypto.randomUUID().slice(0, 8)}${extra}`

const http = (method: string, path: string, token: string | undefined, json?: unknown) =>
  Effect.flatMap(client, (api) => call(() => api.request(method, path, { token, ...(json !== undefined ? { json } : {}) })))

const untilEnded = (agent: Agent, runId: string) =>
  eventually(agent.call("get_import", { runId }), (r) => ["completed", "failed", "canceled"].includes(r.body.status), {
    timeoutMs: 90_000,
    intervalMs: 50
  })

const TOOLS = ["get_sales_nav_access", "import_sales_nav", "get_import", "list_imports", "list_rows", "cancel_import", "get_credits"]

layer(TestApp(), { excludeTestServices: true })("MCP over Streamable HTTP", (it) => {
  it.effect("lists the seven tools, each with its guidance and its input schema", () =>
    Effect.gen(function*() {
      const user = yield* makeUser()
      const agent = yield* connectAgent(user.token)
      expect(agent.mcp.getInstructions()).toContain("get_sales_nav_access first")
      const { tools } = yield* Effect.promise(() => agent.mcp.listTools())
      expect(tools.map((t) => t.name).sort()).toEqual([...TOOLS].sort())
      const byName = Object.fromEntries(tools.map((t) => [t.name, t]))
      for (const tool of tools) {
        expect(tool.inputSchema.type).toBe("object")
        expect((tool.inputSchema as any).additionalProperties).toBe(false)
        expect(tool.outputSchema?.type).toBe("object")
      }
      const imp = byName.import_sales_nav!
      expect(Object.keys(imp.inputSchema.properties ?? {}).sort()).toEqual(
        ["idempotencyKey", "listId", "listName", "maxResults", "skipExistingCustomers", "url"]
      )
      expect(imp.inputSchema.required).toEqual(["url"])
      expect(imp.description).toContain("get_sales_nav_access")
      expect(imp.description).toContain("wasCapped")
      expect(imp.description).toContain("idempotencyKey you have not used before")
      expect(imp.annotations).toMatchObject({ readOnlyHint: false, idempotentHint: true, openWorldHint: true, destructiveHint: false })
      expect(byName.get_sales_nav_access!.description).toContain("Call this first")
      expect(byName.get_import!.description).toContain("summary")
      expect(byName.cancel_import!.annotations).toMatchObject({ destructiveHint: true })
      expect(Object.keys(byName.list_rows!.inputSchema.properties ?? {}).sort()).toEqual(["limit", "listId", "offset"])
      expect(byName.list_rows!.inputSchema.required).toEqual(["listId"])
      expect(byName.get_credits!.inputSchema.properties ?? {}).toEqual({})
    }))

  it.effect("an agent's session: access, import, get_import until completed, list_rows equals the list over HTTP", () =>
    Effect.gen(function*() {
      const user = yield* makeUser({ credits: 1_000 })
      const agent = yield* connectAgent(user.token)

      const access = yield* agent.call("get_sales_nav_access")
      expect(access.isError).toBe(false)
      expect(access.body).toMatchObject({ hasSalesNavigator: true, summary: expect.stringContaining("imports can start") })
      expect({ ...access.body, summary: undefined }).toEqual({ ...(yield* http("GET", "/api/lists/sales-nav-access", user.token)).body, summary: undefined })

      const started = yield* agent.call("import_sales_nav", { url: search(), maxResults: 60, listName: "From the agent" })
      expect(started.isError).toBe(false)
      expect(started.body).toMatchObject({ success: true, maxResults: 60, wasCapped: false, requested: 60, replayed: false, tellTheHuman: null })
      expect(started.body.idempotencyKey).toMatch(/^mcp-[0-9a-f]{64}$/)
      expect(started.body.summary).toContain(`Import ${started.body.runId} started`)
      const { runId, listId } = started.body

      const ended = yield* untilEnded(agent, runId)
      expect(ended.body).toMatchObject({ status: "completed", leadsImported: 60, creditsCharged: 60, creditsRefunded: 0 })
      expect(ended.body.summary).toContain(`Import ${runId} completed: 60 leads imported`)
      const { summary: _, ...status } = ended.body
      expect(status).toEqual((yield* http("GET", `/api/imports/${runId}`, user.token)).body)

      // Paged through the tool, the rows are exactly the list's rows over HTTP.
      const viaMcp: Array<unknown> = []
      for (let offset = 0;; offset += 25) {
        const page = yield* agent.call("list_rows", { listId, limit: 25, offset })
        expect(page.isError).toBe(false)
        viaMcp.push(...page.body.rows)
        if (!page.body.hasMore) break
      }
      expect(viaMcp).toHaveLength(60)
      expect(viaMcp).toEqual(yield* allRows(yield* client, user.token, listId))

      const listed = yield* agent.call("list_imports", { status: "completed" })
      expect(listed.body.imports.map((i: any) => i.runId)).toEqual([runId])
      expect(listed.body.imports[0].summary).toBe(ended.body.summary)
      const credits = yield* agent.call("get_credits")
      expect(credits.body).toEqual({ balance: 940, reserved: 0, available: 940 })
      expect(credits.body).toEqual((yield* http("GET", "/api/credits", user.token)).body)

      const timeline = yield* Effect.promise(() => agent.mcp.readResource({ uri: `sales-nav-import://imports/${runId}/timeline` }))
      const text = (timeline.contents[0] as { text: string }).text
      expect(text.split("\n")[0]).toContain('ListCreated: list "From the agent" created')
      expect(text).toContain("ImportRequested: requested: up to 60 leads")
      expect(text).toContain("CreditsReserved: 60 credits reserved")
      expect(text.split("\n").at(-1)).toContain("ImportCompleted: completed, cap reached: 60 leads imported, 60 credits charged, 0 refunded")
    }))

  it.effect("the same call again answers the same runId and reserves once; a new key starts a deliberate second import", () =>
    Effect.gen(function*() {
      const user = yield* makeUser({ credits: 1_000 })
      const agent = yield* connectAgent(user.token)
      const args = { url: search("&fakeLatencyMs=50"), maxResults: 40 }
      /** What the calls could change: imports, lists, holds, and credits reserved or charged (1,000 - balance + reserved). */
      const committed = Effect.map(snapshotOf(user.userId), (s) => ({
        imports: s.imports,
        lists: s.lists,
        holds: s.holds,
        outbox: s.outbox,
        reservedOrCharged: 1_000 - s.balance! + s.reserved!
      }))

      // Six identical calls at once, from two sessions (an agent whose first call timed out and retried).
      const other = yield* connectAgent(user.token)
      const burst = yield* Effect.forEach(
        Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? agent : other)),
        (session) => session.call("import_sales_nav", args),
        { concurrency: "unbounded" }
      )
      const answered = burst.filter((r) => !r.isError)
      expect(answered.length).toBeGreaterThan(0)
      // The ones that came while the first was being handed to the engine may be told to retry in a moment.
      for (const reply of burst.filter((r) => r.isError)) expect(reply.body.code).toBe("IDEMPOTENCY_KEY_IN_USE")
      const runId = answered[0]!.body.runId
      expect(answered.every((r) => r.body.runId === runId)).toBe(true)
      expect(answered.filter((r) => !r.body.replayed)).toHaveLength(1)
      const reservedOnce = yield* committed
      expect(reservedOnce).toEqual({ imports: 1, lists: 1, holds: 1, outbox: 1, reservedOrCharged: 40 })

      // A retry later, with the defaults spelled out: the same import again, nothing new.
      const again = yield* agent.call("import_sales_nav", { ...args, skipExistingCustomers: true })
      expect(again.body).toMatchObject({ runId, replayed: true })
      expect(again.body.summary).toContain("no new import was started")
      expect(yield* committed).toEqual(reservedOnce)

      // On purpose: a key of its own starts a second import with the same arguments; that key then replays.
      const second = yield* agent.call("import_sales_nav", { ...args, idempotencyKey: "rerun-after-top-up-1" })
      expect(second.body.runId).not.toBe(runId)
      expect(second.body).toMatchObject({ replayed: false, idempotencyKey: "rerun-after-top-up-1" })
      expect((yield* agent.call("import_sales_nav", { ...args, idempotencyKey: "rerun-after-top-up-1" })).body.runId).toBe(second.body.runId)
      expect(yield* committed).toMatchObject({ imports: 2, reservedOrCharged: 80 })

      // That key with other arguments is refused, as the API refuses it.
      const reused = yield* agent.call("import_sales_nav", { ...args, maxResults: 41, idempotencyKey: "rerun-after-top-up-1" })
      expect(reused.isError).toBe(true)
      expect(reused.body).toMatchObject({ success: false, code: "IDEMPOTENCY_KEY_REUSED", hint: expect.stringContaining("new key") })
      expect(yield* committed).toMatchObject({ imports: 2, reservedOrCharged: 80 })
    }))

  it.effect("a capped import says so, and what to tell the human", () =>
    Effect.gen(function*() {
      const user = yield* makeUser({ credits: 30 })
      const agent = yield* connectAgent(user.token)
      const started = yield* agent.call("import_sales_nav", { url: search(), maxResults: 100 })
      expect(started.body).toMatchObject({ wasCapped: true, maxResults: 30, requested: 100 })
      expect(started.body.tellTheHuman).toContain("at most 30 leads instead of the 100 asked for")
      expect(started.body.tellTheHuman).toContain("top-up")
      const ended = yield* untilEnded(agent, started.body.runId)
      expect(ended.body).toMatchObject({ status: "completed", wasCapped: true, leadsImported: 30 })
      expect(ended.body.summary).toContain("capped from 100")
    }))

  it.effect("a bad URL, no Sales Navigator, zero credits, another user's list: tool errors with the API's bodies, nothing changed", () =>
    Effect.gen(function*() {
      const user = yield* makeUser({ credits: 100 })
      const other = yield* makeUser({ credits: 100 })
      const othersList = (yield* http("POST", "/api/lists/import-sales-nav", other.token, { url: search(), maxResults: 1 })).body.listId
      const cases = [
        { token: user.token, args: { url: "https://www.linkedin.com/sales/search/company?query=acme" }, code: "INVALID_SALES_NAV_URL", status: 400 },
        { token: (yield* makeUser({ salesNavigator: false })).token, args: { url: search() }, code: "NO_SALES_NAV_ACCOUNT", status: 400 },
        { token: (yield* makeUser({ credits: 0 })).token, args: { url: search() }, code: "INSUFFICIENT_CREDITS", status: 402 },
        { token: user.token, args: { url: search(), listId: othersList }, code: "LIST_FORBIDDEN", status: 403 }
      ]
      for (const c of cases) {
        const before = yield* snapshotOf(user.userId)
        const agent = yield* connectAgent(c.token)
        const reply = yield* agent.call("import_sales_nav", c.args)
        expect(reply.isError, c.code).toBe(true)
        expect(reply.body.code).toBe(c.code)
        if (c.code === "NO_SALES_NAV_ACCOUNT") expect(reply.body.error).toBe("No Sales Navigator account found")
        expect(reply.body.hint).toEqual(expect.any(String))
        // Exactly what the API answers to the same request (its status beside it).
        const api = yield* http("POST", "/api/lists/import-sales-nav", c.token, c.args)
        expect(api.status).toBe(c.status)
        const { hint: _, ...body } = reply.body
        expect(body).toEqual(api.body)
        expect(yield* snapshotOf(user.userId)).toEqual(before)
      }
    }))

  it.effect("another user's ids answer as the API does; arguments outside the schema are refused before the tool runs", () =>
    Effect.gen(function*() {
      const owner = yield* makeUser({ credits: 100 })
      const started = (yield* http("POST", "/api/lists/import-sales-nav", owner.token, { url: search(), maxResults: 1 })).body
      const stranger = yield* makeUser({ credits: 100 })
      const agent = yield* connectAgent(stranger.token)
      const missingRun = "run_doesnotexist0123456789"
      for (const [tool, args, path, method] of [
        ["get_import", { runId: started.runId }, `/api/imports/${started.runId}`, "GET"],
        ["get_import", { runId: missingRun }, `/api/imports/${missingRun}`, "GET"],
        ["cancel_import", { runId: started.runId }, `/api/imports/${started.runId}/cancel`, "POST"],
        ["list_rows", { listId: started.listId }, `/api/lists/${started.listId}/rows`, "GET"]
      ] as const) {
        const reply = yield* agent.call(tool, args)
        const api = yield* http(method, path, stranger.token)
        expect(reply.isError).toBe(true)
        const { hint: _, ...body } = reply.body
        expect(body, tool).toEqual(api.body)
        expect(["IMPORT_NOT_FOUND", "LIST_FORBIDDEN"]).toContain(body.code)
      }
      const timeline = yield* Effect.promise(() =>
        agent.mcp.readResource({ uri: `sales-nav-import://imports/${started.runId}/timeline` }).then(() => "read", (e) => String(e))
      )
      expect(timeline).toContain("IMPORT_NOT_FOUND")

      const before = yield* snapshotOf(stranger.userId)
      for (const [args, field] of [
        [{ url: search(), maxResults: 0 }, "maxResults"],
        [{ url: search(), listId: "not-a-uuid" }, "listId"],
        [{ url: search(), idempotencyKey: "has space" }, "idempotencyKey"],
        [{ url: search(), surprise: true }, "surprise"],
        [{ maxResults: 10 }, "url"]
      ] as const) {
        const reply = yield* agent.call("import_sales_nav", args)
        expect(reply.isError, field).toBe(true)
        expect(reply.text).toContain(field)
      }
      expect(yield* snapshotOf(stranger.userId)).toEqual(before)
    }))

  it.effect("cancel_import stops an import, keeps its rows and refunds the rest; again: IMPORT_ENDED", () =>
    Effect.gen(function*() {
      const user = yield* makeUser({ credits: 1_000 })
      const agent = yield* connectAgent(user.token)
      const started = yield* agent.call("import_sales_nav", { url: search("&fakeLatencyMs=100"), maxResults: 500 })
      // Let a page or more land first.
      yield* eventually(agent.call("get_import", { runId: started.body.runId }), (r) => r.body.leadsImported > 0, { timeoutMs: 60_000 })
      const canceled = yield* agent.call("cancel_import", { runId: started.body.runId })
      expect(canceled.isError).toBe(false)
      expect(canceled.body).toMatchObject({ status: "canceled", cancelRequested: true })
      expect(canceled.body.leadsImported).toBeGreaterThan(0)
      expect(canceled.body.creditsRefunded).toBe(500 - canceled.body.leadsImported)
      expect(canceled.body.summary).toContain(`was canceled after importing ${canceled.body.leadsImported} leads`)
      const rows = yield* agent.call("list_rows", { listId: started.body.listId, limit: 500 })
      expect(rows.body.total).toBe(canceled.body.leadsImported)
      const again = yield* agent.call("cancel_import", { runId: started.body.runId })
      expect(again.body).toMatchObject({ code: "IMPORT_ENDED", error: "The import has already ended (canceled); there is nothing to cancel" })
      const credits = yield* agent.call("get_credits")
      expect(credits.body.reserved).toBe(0)
    }))

  it.effect("no token, a wrong or revoked token: 401 with the API's body, before any tool is listed", () =>
    Effect.gen(function*() {
      const api = yield* client
      const user = yield* makeUser()
      const initialize = {
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } }
      }
      const listTools = { jsonrpc: "2.0", id: 2, method: "tools/list", params: {} }
      const apiRefusal = (yield* http("GET", "/api/credits", undefined)).body
      expect(apiRefusal).toMatchObject({ success: false, code: "UNAUTHORIZED" })
      for (const authorization of [undefined, "Bearer wrong-token", `Basic ${user.token}`, `Bearer ${user.token}x`]) {
        for (const message of [initialize, listTools]) {
          const reply = yield* call(() =>
            fetch(`${api.baseUrl}/mcp`, {
              method: "POST",
              headers: {
                "content-type": "application/json",
                accept: "application/json, text/event-stream",
                ...(authorization !== undefined ? { authorization } : {})
              },
              body: JSON.stringify(message)
            }).then(async (r) => ({ status: r.status, body: await r.json() }))
          )
          expect(reply.status).toBe(401)
          expect(reply.body).toEqual(apiRefusal)
        }
      }
      // With a token, a browser page (an Origin header) is still refused: no cross-site calls.
      const fromPage = yield* call(() =>
        fetch(`${api.baseUrl}/mcp`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            accept: "application/json, text/event-stream",
            authorization: `Bearer ${user.token}`,
            origin: "https://evil.example"
          },
          body: JSON.stringify(initialize)
        }).then((r) => r.status)
      )
      expect(fromPage).toBe(403)
      const refused = yield* Effect.exit(Effect.scoped(connectAgent("wrong-token")))
      expect(Exit.isFailure(refused) && String(Cause.squash(refused.cause))).toContain("UNAUTHORIZED")
      // A token revoked mid-session stops working on the next call.
      const agent = yield* connectAgent(user.token)
      expect((yield* agent.call("get_credits")).isError).toBe(false)
      yield* http("DELETE", `/api/admin/tokens/${user.tokenId}`, "test-admin-token-0123456789")
      const after = yield* Effect.promise(() => agent.mcp.callTool({ name: "get_credits", arguments: {} }).then(() => "answered", (e) => String(e)))
      expect(after).toContain("UNAUTHORIZED")
    }))
})
