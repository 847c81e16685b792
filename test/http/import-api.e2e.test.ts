/**
 * POST /api/lists/import-sales-nav and the endpoints around it, over a real socket:
 * one case per status code and message of the contract. Every error answer must
 * leave the caller's events, lists, reservations and outbox exactly as they were.
 * Imports are enqueued on a stub of Trigger.dev, so nothing runs them here and the
 * state each answer leaves is what the API alone wrote (pipeline.e2e runs them).
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { call, client, TestAppOnTriggerStub } from "../support/server.ts"
import { makeUser, PEOPLE_SEARCH, snapshotOf } from "../support/fixtures.ts"

const RUN_ID = /^run_[A-Za-z0-9]{16,40}$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

const errorBody = (code: string) => ({ success: false, code, error: expect.any(String) })

layer(TestAppOnTriggerStub(), { excludeTestServices: true })("import API over HTTP", (it) => {
  describe("200", () => {
    it.effect("the seed's example request gets the seed's response shape, and the events and reservation exist", () =>
      Effect.gen(function*() {
        const api = yield* client
        const user = yield* makeUser({ credits: 5000 })
        const reply = yield* call(() =>
          api.request("POST", "/api/lists/import-sales-nav", {
            token: user.token,
            json: { url: PEOPLE_SEARCH, maxResults: 2500, skipExistingCustomers: true }
          })
        )
        expect(reply.status).toBe(200)
        expect(reply.body).toEqual({
          success: true,
          listId: expect.stringMatching(UUID),
          runId: expect.stringMatching(RUN_ID),
          maxResults: 2500,
          wasCapped: false
        })
        const after = yield* snapshotOf(user.userId)
        expect(after).toMatchObject({ lists: 1, outbox: 1, holds: 1, imports: 1, reserved: 2500 })

        // The run id leads to the import and to its audit trail.
        const status = yield* call(() => api.request("GET", `/api/imports/${reply.body.runId}`, { token: user.token }))
        expect(status.status).toBe(200)
        expect(status.body).toMatchObject({ runId: reply.body.runId, listId: reply.body.listId, requested: 2500, maxResults: 2500, creditsReserved: 2500 })
        const audit = yield* call(() => api.request("GET", `/api/imports/${reply.body.runId}/events`, { token: user.token }))
        expect(audit.status).toBe(200)
        const types = audit.body.events.map((e: { type: string }) => e.type)
        expect(types.slice(0, 5)).toEqual(["ListCreated", "ImportRequested", "ListResolved", "CreditsReserved", "ImportEnqueued"])

        // The list exists, named by the date, and belongs to the caller.
        const list = yield* call(() => api.request("GET", `/api/lists/${reply.body.listId}`, { token: user.token }))
        expect(list.status).toBe(200)
        expect(list.body.name).toMatch(/^Sales Nav Import - \d{2}\/\d{2}\/\d{4}$/)
      }))

    it.effect("defaults: maxResults 2500, skipExistingCustomers true; listName names the new list", () =>
      Effect.gen(function*() {
        const api = yield* client
        const user = yield* makeUser({ credits: 10_000 })
        const reply = yield* call(() =>
          api.request("POST", "/api/lists/import-sales-nav", { token: user.token, json: { url: PEOPLE_SEARCH, listName: "CTOs" } })
        )
        expect(reply.body).toMatchObject({ success: true, maxResults: 2500, wasCapped: false })
        const status = yield* call(() => api.request("GET", `/api/imports/${reply.body.runId}`, { token: user.token }))
        expect(status.body.requested).toBe(2500)
        const list = yield* call(() => api.request("GET", `/api/lists/${reply.body.listId}`, { token: user.token }))
        expect(list.body).toMatchObject({ name: "CTOs", rowCount: expect.any(Number) })
      }))

    it.effect("an existing list of the caller is reused, not created again", () =>
      Effect.gen(function*() {
        const api = yield* client
        const user = yield* makeUser()
        const first = yield* call(() => api.request("POST", "/api/lists/import-sales-nav", { token: user.token, json: { url: PEOPLE_SEARCH, maxResults: 10 } }))
        const second = yield* call(() =>
          api.request("POST", "/api/lists/import-sales-nav", {
            token: user.token,
            json: { url: PEOPLE_SEARCH, maxResults: 10, listId: first.body.listId }
          })
        )
        expect(second.status).toBe(200)
        expect(second.body.listId).toBe(first.body.listId)
        expect(second.body.runId).not.toBe(first.body.runId)
        expect((yield* snapshotOf(user.userId)).lists).toBe(1)
      }))

    it.effect("credits below the request cap the import: wasCapped, maxResults = available", () =>
      Effect.gen(function*() {
        const api = yield* client
        const user = yield* makeUser({ credits: 40 })
        const reply = yield* call(() => api.request("POST", "/api/lists/import-sales-nav", { token: user.token, json: { url: PEOPLE_SEARCH, maxResults: 100 } }))
        expect(reply.body).toMatchObject({ success: true, maxResults: 40, wasCapped: true })
        const credits = yield* call(() => api.request("GET", "/api/credits", { token: user.token }))
        expect(credits.body).toMatchObject({ reserved: expect.any(Number), available: expect.any(Number) })
        expect(credits.body.balance - credits.body.reserved).toBe(credits.body.available)
      }))
  })

  describe("400", () => {
    const invalid: ReadonlyArray<[string, unknown, string]> = [
      ["maxResults 0", { url: PEOPLE_SEARCH, maxResults: 0 }, "maxResults"],
      ["maxResults negative", { url: PEOPLE_SEARCH, maxResults: -5 }, "maxResults"],
      ["maxResults fractional", { url: PEOPLE_SEARCH, maxResults: 1.5 }, "maxResults"],
      ["maxResults 2^53", { url: PEOPLE_SEARCH, maxResults: 2 ** 53 }, "maxResults"],
      ["maxResults as a string", { url: PEOPLE_SEARCH, maxResults: "10" }, "maxResults"],
      ["maxResults null", { url: PEOPLE_SEARCH, maxResults: null }, "maxResults"],
      ["url missing", { maxResults: 10 }, "url"],
      ["url not a string", { url: 42 }, "url"],
      ["listId not a UUID", { url: PEOPLE_SEARCH, listId: "not-a-uuid" }, "listId"],
      ["listId UUID of version 0", { url: PEOPLE_SEARCH, listId: "3c90c3cc-0d44-0b50-8888-8dd25736052a" }, "listId"],
      ["listName empty", { url: PEOPLE_SEARCH, listName: "" }, "listName"],
      ["listName over 200 characters", { url: PEOPLE_SEARCH, listName: "x".repeat(201) }, "listName"],
      ["skipExistingCustomers not a boolean", { url: PEOPLE_SEARCH, skipExistingCustomers: "yes" }, "skipExistingCustomers"],
      ["an extra field", { url: PEOPLE_SEARCH, maxResult: 10 }, "maxResult"],
      ["listName of spaces only", { url: PEOPLE_SEARCH, listName: "   \t " }, "listName"],
      ["listName with a NUL", { url: PEOPLE_SEARCH, listName: "leads\u0000x" }, "listName"],
      ["listName with a lone high surrogate", { url: PEOPLE_SEARCH, listName: "leads \ud83d" }, "listName"],
      ["listName with a lone low surrogate", { url: PEOPLE_SEARCH, listName: "\udc00 leads" }, "listName"],
      ["url with a NUL", { url: `${PEOPLE_SEARCH}\u0000` }, "url"],
      ["url with a lone surrogate", { url: `${PEOPLE_SEARCH}\ud800` }, "url"],
      ["a body that is not an object", [PEOPLE_SEARCH], "body"]
    ]
    it.effect.each(invalid)("VALIDATION_FAILED naming the field: %s", ([, body, field]) =>
      Effect.gen(function*() {
        const api = yield* client
        const user = yield* makeUser()
        const before = yield* snapshotOf(user.userId)
        const reply = yield* call(() => api.request("POST", "/api/lists/import-sales-nav", { token: user.token, json: body }))
        expect(reply.status).toBe(400)
        expect(reply.body).toMatchObject(errorBody("VALIDATION_FAILED"))
        expect(reply.body.details.map((d: { path: string }) => d.path)).toContain(field)
        expect(yield* snapshotOf(user.userId)).toEqual(before)
      }))

    it.effect("every offending field is reported at once", () =>
      Effect.gen(function*() {
        const api = yield* client
        const user = yield* makeUser()
        const reply = yield* call(() =>
          api.request("POST", "/api/lists/import-sales-nav", { token: user.token, json: { url: 1, maxResults: 0, listName: "", junk: true } })
        )
        expect(reply.status).toBe(400)
        expect(reply.body.details.map((d: { path: string }) => d.path).sort()).toEqual(["junk", "listName", "maxResults", "url"])
      }))

    it.effect("malformed JSON is INVALID_JSON", () =>
      Effect.gen(function*() {
        const api = yield* client
        const user = yield* makeUser()
        const before = yield* snapshotOf(user.userId)
        const reply = yield* call(() =>
          api.request("POST", "/api/lists/import-sales-nav", {
            token: user.token,
            body: "{\"url\": ",
            headers: { "content-type": "application/json" }
          })
        )
        expect(reply.status).toBe(400)
        expect(reply.body).toEqual({ success: false, code: "INVALID_JSON", error: "Malformed JSON body" })
        expect(yield* snapshotOf(user.userId)).toEqual(before)
      }))

    it.effect.each([
      ["https://www.linkedin.com/sales/search/company?query=x", "company/account"],
      ["https://www.linkedin.com/sales/company/1234", "company/account"],
      ["https://www.linkedin.com/search/results/people/?keywords=cto", "classic LinkedIn search"],
      ["https://example.com/sales/search/people", "linkedin.com"],
      ["http://www.linkedin.com/sales/search/people?query=x", "https"],
      ["garbage", "not a valid URL"]
    ])("a URL that is not a Sales Navigator people search: %s", ([url, reason]) =>
      Effect.gen(function*() {
        const api = yield* client
        const user = yield* makeUser()
        const before = yield* snapshotOf(user.userId)
        const reply = yield* call(() => api.request("POST", "/api/lists/import-sales-nav", { token: user.token, json: { url } }))
        expect(reply.status).toBe(400)
        expect(reply.body).toMatchObject(errorBody("INVALID_SALES_NAV_URL"))
        expect(reply.body.error).toContain(reason)
        expect(reply.body.details).toEqual([{ path: "url", message: reply.body.error }])
        expect(yield* snapshotOf(user.userId)).toEqual(before)
      }))

    it.effect("\"No Sales Navigator account found\" without a Sales Navigator account", () =>
      Effect.gen(function*() {
        const api = yield* client
        const user = yield* makeUser({ salesNavigator: false })
        // A LinkedIn account without Sales Navigator does not count.
        yield* call(() =>
          api.request("POST", `/api/admin/users/${user.userId}/linkedin-accounts`, {
            token: "test-admin-token-0123456789",
            json: { name: "basic", hasSalesNavigator: false }
          })
        )
        const before = yield* snapshotOf(user.userId)
        const reply = yield* call(() => api.request("POST", "/api/lists/import-sales-nav", { token: user.token, json: { url: PEOPLE_SEARCH } }))
        expect(reply.status).toBe(400)
        expect(reply.body).toEqual({ success: false, code: "NO_SALES_NAV_ACCOUNT", error: "No Sales Navigator account found" })
        expect(yield* snapshotOf(user.userId)).toEqual(before)
        const access = yield* call(() => api.request("GET", "/api/lists/sales-nav-access", { token: user.token }))
        expect(access.body).toEqual({ hasSalesNavigator: false, account: null })
      }))
  })

  describe("401", () => {
    it.effect.each([
      ["no Authorization header", undefined],
      ["an unknown token", "sni_unknown"],
      ["an empty bearer token", ""]
    ])("%s", ([, token]) =>
      Effect.gen(function*() {
        const api = yield* client
        // Auth is checked before the body: a bad body without a token is still 401.
        for (const json of [{ url: PEOPLE_SEARCH }, { maxResults: 0 }]) {
          const reply = yield* call(() => api.request("POST", "/api/lists/import-sales-nav", { token, json }))
          expect(reply.status).toBe(401)
          expect(reply.body).toEqual({ success: false, code: "UNAUTHORIZED", error: "Missing or unknown bearer token" })
        }
        for (const path of ["/api/credits", "/api/lists/sales-nav-access", `/api/lists/${crypto.randomUUID()}`]) {
          expect((yield* call(() => api.request("GET", path, { token }))).status).toBe(401)
        }
      }))

    it.effect("a non-bearer scheme", () =>
      Effect.gen(function*() {
        const api = yield* client
        const user = yield* makeUser()
        const reply = yield* call(() =>
          api.request("GET", "/api/credits", { headers: { authorization: `Basic ${user.token}` } })
        )
        expect(reply.status).toBe(401)
        expect(reply.body.code).toBe("UNAUTHORIZED")
      }))
  })

  describe("402", () => {
    it.effect.each([0, -20])("available credits %i: INSUFFICIENT_CREDITS, nothing reserved", (credits) =>
      Effect.gen(function*() {
        const api = yield* client
        const user = yield* makeUser({ credits: 0 })
        if (credits !== 0) {
          yield* call(() =>
            api.request("POST", `/api/admin/users/${user.userId}/credits`, { token: "test-admin-token-0123456789", json: { amount: credits } })
          )
        }
        const before = yield* snapshotOf(user.userId)
        const reply = yield* call(() => api.request("POST", "/api/lists/import-sales-nav", { token: user.token, json: { url: PEOPLE_SEARCH } }))
        expect(reply.status).toBe(402)
        expect(reply.body).toMatchObject(errorBody("INSUFFICIENT_CREDITS"))
        expect(yield* snapshotOf(user.userId)).toEqual(before)
      }))
  })

  describe("403", () => {
    it.effect("another user's list and a list that does not exist get the same answer", () =>
      Effect.gen(function*() {
        const api = yield* client
        const owner = yield* makeUser()
        const other = yield* makeUser()
        const owned = yield* call(() => api.request("POST", "/api/lists/import-sales-nav", { token: owner.token, json: { url: PEOPLE_SEARCH, maxResults: 5 } }))
        const before = yield* snapshotOf(other.userId)
        const answers = []
        for (const listId of [owned.body.listId, crypto.randomUUID()]) {
          const reply = yield* call(() =>
            api.request("POST", "/api/lists/import-sales-nav", { token: other.token, json: { url: PEOPLE_SEARCH, listId } })
          )
          expect(reply.status).toBe(403)
          answers.push(reply.body)
          for (const path of [`/api/lists/${listId}`, `/api/lists/${listId}/rows`]) {
            const read = yield* call(() => api.request("GET", path, { token: other.token }))
            expect(read.status).toBe(403)
            expect(read.body).toEqual(reply.body)
          }
        }
        expect(answers[0]).toEqual(answers[1])
        expect(answers[0]).toMatchObject(errorBody("LIST_FORBIDDEN"))
        expect(yield* snapshotOf(other.userId)).toEqual(before)
      }))

    it.effect("the order of checks: URL before account, account before list, list before credits", () =>
      Effect.gen(function*() {
        const api = yield* client
        const noNav = yield* makeUser({ salesNavigator: false, credits: 0 })
        const post = (token: string, json: unknown) => call(() => api.request("POST", "/api/lists/import-sales-nav", { token, json }))
        const foreign = crypto.randomUUID()
        expect((yield* post(noNav.token, { url: "https://example.com", listId: foreign })).body.code).toBe("INVALID_SALES_NAV_URL")
        expect((yield* post(noNav.token, { url: PEOPLE_SEARCH, listId: foreign })).body.code).toBe("NO_SALES_NAV_ACCOUNT")
        const broke = yield* makeUser({ credits: 0 })
        expect((yield* post(broke.token, { url: PEOPLE_SEARCH, listId: foreign })).body.code).toBe("LIST_FORBIDDEN")
        expect((yield* post(broke.token, { url: PEOPLE_SEARCH })).body.code).toBe("INSUFFICIENT_CREDITS")
      }))
  })

  describe("413", () => {
    it.effect("a body over 64 KiB, with or without Content-Length", () =>
      Effect.gen(function*() {
        const api = yield* client
        const user = yield* makeUser()
        const before = yield* snapshotOf(user.userId)
        const big = JSON.stringify({ url: PEOPLE_SEARCH, listName: "x".repeat(70 * 1024) })
        const reply = yield* call(() =>
          api.request("POST", "/api/lists/import-sales-nav", { token: user.token, body: big, headers: { "content-type": "application/json" } })
        )
        expect(reply.status).toBe(413)
        expect(reply.body).toMatchObject(errorBody("PAYLOAD_TOO_LARGE"))
        // Chunked: no Content-Length to check up front, the limit applies while reading.
        const chunked = yield* call(async () => {
          const stream = new ReadableStream({
            start(controller) {
              controller.enqueue(new TextEncoder().encode(big))
              controller.close()
            }
          })
          const response = await fetch(`${api.baseUrl}/api/lists/import-sales-nav`, {
            method: "POST",
            headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json" },
            body: stream,
            duplex: "half"
          } as RequestInit)
          return { status: response.status, body: await response.json() }
        })
        expect(chunked.status).toBe(413)
        expect(chunked.body.code).toBe("PAYLOAD_TOO_LARGE")
        expect(yield* snapshotOf(user.userId)).toEqual(before)
      }))

    it.effect("a body just under 64 KiB is read and validated", () =>
      Effect.gen(function*() {
        const api = yield* client
        const user = yield* makeUser()
        const body = JSON.stringify({ url: PEOPLE_SEARCH, listName: "x".repeat(60 * 1024) })
        const reply = yield* call(() =>
          api.request("POST", "/api/lists/import-sales-nav", { token: user.token, body, headers: { "content-type": "application/json" } })
        )
        expect(reply.status).toBe(400)
        expect(reply.body.details.map((d: { path: string }) => d.path)).toEqual(["listName"])
      }))
  })

  describe("the endpoints around the import", () => {
    it.effect("sales-nav-access reports the account", () =>
      Effect.gen(function*() {
        const api = yield* client
        const user = yield* makeUser()
        const reply = yield* call(() => api.request("GET", "/api/lists/sales-nav-access", { token: user.token }))
        expect(reply.status).toBe(200)
        expect(reply.body).toEqual({
          hasSalesNavigator: true,
          account: { id: expect.stringMatching(UUID), name: expect.any(String), providerAccountId: null }
        })
      }))

    it.effect("rows: bounds of limit and offset, and an empty list's page", () =>
      Effect.gen(function*() {
        const api = yield* client
        const user = yield* makeUser()
        const started = yield* call(() => api.request("POST", "/api/lists/import-sales-nav", { token: user.token, json: { url: PEOPLE_SEARCH, maxResults: 5 } }))
        const rows = (query: string) => call(() => api.request("GET", `/api/lists/${started.body.listId}/rows${query}`, { token: user.token }))
        for (const query of ["?limit=0", "?limit=501", "?limit=abc", "?offset=-1", "?limit=1.5"]) {
          const reply = yield* rows(query)
          expect(reply.status, query).toBe(400)
          expect(reply.body).toMatchObject(errorBody("VALIDATION_FAILED"))
        }
        const page = yield* rows("?limit=500&offset=0")
        expect(page.status).toBe(200)
        expect(page.body).toMatchObject({ limit: 500, offset: 0, total: expect.any(Number), hasMore: false })
        const defaults = yield* rows("")
        expect(defaults.body).toMatchObject({ limit: 100, offset: 0 })
        const badPath = yield* call(() => api.request("GET", "/api/lists/not-a-uuid/rows", { token: user.token }))
        expect(badPath.status).toBe(400)
        expect(badPath.body.details).toEqual([{ path: "listId", message: expect.any(String) }])
      }))

    it.effect("imports: an unknown or foreign run id is 404, a malformed one 400", () =>
      Effect.gen(function*() {
        const api = yield* client
        const owner = yield* makeUser()
        const other = yield* makeUser()
        const started = yield* call(() => api.request("POST", "/api/lists/import-sales-nav", { token: owner.token, json: { url: PEOPLE_SEARCH, maxResults: 5 } }))
        for (const path of [`/api/imports/${started.body.runId}`, `/api/imports/${started.body.runId}/events`]) {
          const foreign = yield* call(() => api.request("GET", path, { token: other.token }))
          expect(foreign.status).toBe(404)
          expect(foreign.body).toMatchObject(errorBody("IMPORT_NOT_FOUND"))
        }
        expect((yield* call(() => api.request("GET", "/api/imports/run_doesnotexist0000000", { token: owner.token }))).status).toBe(404)
        expect((yield* call(() => api.request("GET", "/api/imports/nope", { token: owner.token }))).status).toBe(400)
      }))

    it.effect("unknown routes and methods answer JSON too", () =>
      Effect.gen(function*() {
        const api = yield* client
        const notFound = yield* call(() => api.request("GET", "/api/nope"))
        expect(notFound.status).toBe(404)
        expect(notFound.body).toMatchObject(errorBody("NOT_FOUND"))
        const user = yield* makeUser()
        const wrongType = yield* call(() =>
          api.request("POST", "/api/lists/import-sales-nav", { token: user.token, body: "url=x", headers: { "content-type": "text/plain" } })
        )
        expect(wrongType.status).toBe(415)
        expect(wrongType.body).toMatchObject(errorBody("UNSUPPORTED_MEDIA_TYPE"))
      }))
  })

  describe("admin", () => {
    const ADMIN = "test-admin-token-0123456789"
    it.effect("creates users with a token shown once, grants credits, connects accounts", () =>
      Effect.gen(function*() {
        const api = yield* client
        const email = `${crypto.randomUUID()}@example.com`
        const created = yield* call(() => api.request("POST", "/api/admin/users", { token: ADMIN, json: { email, credits: 30 } }))
        expect(created.status).toBe(200)
        expect(created.body).toEqual({ userId: expect.stringMatching(UUID), tokenId: expect.stringMatching(UUID), token: expect.stringMatching(/^sni_/) })
        const again = yield* call(() => api.request("POST", "/api/admin/users", { token: ADMIN, json: { email } }))
        expect(again.status).toBe(409)
        expect(again.body).toMatchObject(errorBody("EMAIL_TAKEN"))

        const token = created.body.token
        expect((yield* call(() => api.request("GET", "/api/credits", { token }))).body).toEqual({ balance: 30, reserved: 0, available: 30 })
        const granted = yield* call(() =>
          api.request("POST", `/api/admin/users/${created.body.userId}/credits`, { token: ADMIN, json: { amount: -10 } })
        )
        expect(granted.body).toEqual({ balance: 20, available: 20 })
        const account = yield* call(() =>
          api.request("POST", `/api/admin/users/${created.body.userId}/linkedin-accounts`, {
            token: ADMIN,
            json: { name: "Sales Nav seat", hasSalesNavigator: true, providerAccountId: "unipile-123" }
          })
        )
        expect(account.body).toEqual({ id: expect.stringMatching(UUID) })
        const access = yield* call(() => api.request("GET", "/api/lists/sales-nav-access", { token }))
        expect(access.body).toEqual({ hasSalesNavigator: true, account: { id: account.body.id, name: "Sales Nav seat", providerAccountId: "unipile-123" } })
      }))

    it.effect("rejects user tokens and wrong admin tokens; unknown users are 404", () =>
      Effect.gen(function*() {
        const api = yield* client
        const user = yield* makeUser()
        for (const token of [user.token, "wrong", undefined]) {
          const reply = yield* call(() => api.request("POST", "/api/admin/users", { token, json: { email: "x@example.com" } }))
          expect(reply.status).toBe(401)
          expect(reply.body.code).toBe("UNAUTHORIZED")
        }
        const missing = yield* call(() =>
          api.request("POST", `/api/admin/users/${crypto.randomUUID()}/credits`, { token: ADMIN, json: { amount: 5 } })
        )
        expect(missing.status).toBe(404)
        expect(missing.body).toMatchObject(errorBody("USER_NOT_FOUND"))
      }))
  })
})

layer(TestAppOnTriggerStub({ ADMIN_TOKEN: "" }), { excludeTestServices: true })("admin API without ADMIN_TOKEN", (it) => {
  it.effect("is disabled", () =>
    Effect.gen(function*() {
      const api = yield* client
      const reply = yield* call(() => api.request("POST", "/api/admin/users", { token: "", json: { email: "a@example.com" } }))
      expect(reply.status).toBe(401)
      expect(reply.body.error).toContain("ADMIN_TOKEN")
    }))
})
