/**
 * API tokens: issued by the admin (createUser answers a token id too), at least 128 random
 * bits, stored only as hashes, revoked by id — a revoked token fails on the very next
 * request, while the user's other tokens keep working. Admin tokens are compared in constant
 * time whatever their length.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Database } from "../../src/db/Database.ts"
import { sameSecret } from "../../src/http/server.ts"
import { makeUser, PEOPLE_SEARCH, snapshotOf } from "../support/fixtures.ts"
import { ADMIN_TOKEN, call, client, TestApp } from "../support/server.ts"

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

const request = (method: string, path: string, token?: string, json?: unknown) =>
  Effect.flatMap(client, (api) => call(() => api.request(method, path, { token, ...(json !== undefined ? { json } : {}) })))

layer(TestApp(), { excludeTestServices: true })("API tokens", (it) => {
  it.effect("issued, used, revoked: a revoked token fails on the next request; the others keep working", () =>
    Effect.gen(function*() {
      const created = yield* request("POST", "/api/admin/users", ADMIN_TOKEN, { email: `${crypto.randomUUID()}@example.com` })
      expect(created.body).toEqual({ userId: expect.stringMatching(UUID), tokenId: expect.stringMatching(UUID), token: expect.any(String) })
      const second = yield* request("POST", `/api/admin/users/${created.body.userId}/tokens`, ADMIN_TOKEN)
      expect(second.status).toBe(200)
      expect(second.body).toEqual({ tokenId: expect.stringMatching(UUID), token: expect.any(String) })
      expect(second.body.token).not.toBe(created.body.token)

      for (const token of [created.body.token, second.body.token]) expect((yield* request("GET", "/api/credits", token)).status).toBe(200)

      const revoked = yield* request("DELETE", `/api/admin/tokens/${created.body.tokenId}`, ADMIN_TOKEN)
      expect(revoked.status).toBe(204)
      expect(revoked.body).toBe("")
      const refused = yield* request("GET", "/api/credits", created.body.token)
      expect(refused.status).toBe(401)
      expect(refused.body).toMatchObject({ success: false, code: "UNAUTHORIZED" })
      expect((yield* request("GET", "/api/credits", second.body.token)).status).toBe(200)

      // Revoking again changes nothing; an id that names no token is 404.
      expect((yield* request("DELETE", `/api/admin/tokens/${created.body.tokenId}`, ADMIN_TOKEN)).status).toBe(204)
      const missing = yield* request("DELETE", `/api/admin/tokens/${crypto.randomUUID()}`, ADMIN_TOKEN)
      expect(missing.status).toBe(404)
      expect(missing.body).toMatchObject({ success: false, code: "TOKEN_NOT_FOUND" })
    }))

  it.effect("the import POST, which may know a token from its cache, refuses it on the next request once revoked — whatever the body", () =>
    Effect.gen(function*() {
      const user = yield* makeUser({ credits: 100 })
      const body = { url: PEOPLE_SEARCH, maxResults: 5 }
      // Twice: the second request is served from the token cache.
      for (let i = 0; i < 2; i++) expect((yield* request("POST", "/api/lists/import-sales-nav", user.token, body)).status).toBe(200)
      // What only a POST creates (the two imports run meanwhile: their events and credits move).
      const started = Effect.map(snapshotOf(user.userId), ({ holds, imports, lists, outbox }) => ({ holds, imports, lists, outbox }))
      const before = yield* started
      expect(before).toEqual({ holds: 2, imports: 2, lists: 2, outbox: 2 })
      expect((yield* request("DELETE", `/api/admin/tokens/${user.tokenId}`, ADMIN_TOKEN)).status).toBe(204)
      for (
        const json of [
          body,
          { url: "https://www.linkedin.com/sales/search/company?query=x" }, // INVALID_SALES_NAV_URL
          { maxResults: 5 } // VALIDATION_FAILED
        ]
      ) {
        for (const key of [undefined, crypto.randomUUID()]) {
          const api = yield* client
          const refused = yield* call(() =>
            api.request("POST", "/api/lists/import-sales-nav", { token: user.token, json, headers: key ? { "idempotency-key": key } : {} })
          )
          expect(refused.status).toBe(401)
          expect(refused.body).toMatchObject({ success: false, code: "UNAUTHORIZED" })
        }
      }
      expect(yield* started).toEqual(before)
    }))

  it.effect("issuing for a user that does not exist is 404; the token endpoints need the admin token", () =>
    Effect.gen(function*() {
      const missing = yield* request("POST", `/api/admin/users/${crypto.randomUUID()}/tokens`, ADMIN_TOKEN)
      expect(missing.status).toBe(404)
      expect(missing.body).toMatchObject({ code: "USER_NOT_FOUND" })
      const user = yield* request("POST", "/api/admin/users", ADMIN_TOKEN, { email: `${crypto.randomUUID()}@example.com` })
      for (const token of [user.body.token, undefined, `${ADMIN_TOKEN}x`, ADMIN_TOKEN.slice(1)]) {
        expect((yield* request("POST", `/api/admin/users/${user.body.userId}/tokens`, token)).status).toBe(401)
        expect((yield* request("DELETE", `/api/admin/tokens/${user.body.tokenId}`, token)).status).toBe(401)
      }
      expect((yield* request("GET", "/api/credits", user.body.token)).status).toBe(200)
    }))

  it.effect("tokens carry at least 128 random bits and the database keeps only their SHA-256", () =>
    Effect.gen(function*() {
      const db = yield* Database
      const users = yield* Effect.forEach(Array.from({ length: 20 }), () =>
        request("POST", "/api/admin/users", ADMIN_TOKEN, { email: `${crypto.randomUUID()}@example.com` }))
      const tokens = users.map((u) => u.body.token as string)
      for (const token of tokens) {
        expect(token).toMatch(/^sni_[A-Za-z0-9_-]{32}$/) // 24 random bytes: 192 bits
        expect(Buffer.from(token.slice(4), "base64url").length * 8).toBeGreaterThanOrEqual(128)
      }
      expect(new Set(tokens).size).toBe(tokens.length)
      const stored = yield* db.query((q) => q.selectFrom("api_tokens").select(["token_hash"]).execute()).pipe(Effect.orDie)
      const hashes = stored.map((r) => r.token_hash)
      for (const token of tokens) expect(hashes).not.toContain(token)
      expect(hashes.every((h) => /^[0-9a-f]{64}$/.test(h))).toBe(true)
    }))
})

describe("sameSecret (admin and support tokens)", () => {
  it("is true for the same secret and false for any other, whatever the lengths", () => {
    expect(sameSecret("s3cret-admin", "s3cret-admin")).toBe(true)
    for (const other of ["", "s", "s3cret-admi", "s3cret-adminx", "S3cret-admin", "x".repeat(10_000)]) {
      expect(sameSecret(other, "s3cret-admin")).toBe(false)
    }
  })
})
