/**
 * The key import_sales_nav sends when the agent gives none: the same user and the same import
 * (defaults applied, the list id in either case) always give the same key, a valid
 * Idempotency-Key; anything that changes the import, or another user, gives another.
 */
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import fc from "fast-check"
import { IdempotencyKey, type ImportRequest } from "../../src/http/Api.ts"
import { derivedIdempotencyKey, normalizeImportArguments } from "../../src/mcp/importArguments.ts"

const keyOf = (userId: string, args: ImportRequest) => derivedIdempotencyKey(userId, normalizeImportArguments(args))

const args: fc.Arbitrary<ImportRequest> = fc.record({
  url: fc.webUrl(),
  listId: fc.uuid(),
  listName: fc.string({ minLength: 1, maxLength: 200 }),
  maxResults: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  skipExistingCustomers: fc.boolean()
}, { requiredKeys: ["url"] })

describe("derivedIdempotencyKey", () => {
  it("is a valid Idempotency-Key, the same for the same user and arguments", () => {
    fc.assert(fc.property(fc.uuid(), args, (userId, a) => {
      const key = keyOf(userId, a)
      expect(Schema.is(IdempotencyKey)(key)).toBe(true)
      expect(keyOf(userId, { ...a })).toBe(key)
    }))
  })

  it("treats the API's defaults and the list id's case as the same import", () => {
    fc.assert(fc.property(fc.uuid(), fc.webUrl(), fc.uuid(), (userId, url, listId) => {
      const key = keyOf(userId, { url, listId })
      expect(keyOf(userId, { url, listId: listId.toUpperCase(), maxResults: 2500, skipExistingCustomers: true })).toBe(key)
    }))
  })

  it("differs for another user, and for any argument that changes the import", () => {
    fc.assert(fc.property(fc.uuid(), fc.uuid(), args, args, (userA, userB, a, b) => {
      fc.pre(userA !== userB)
      expect(keyOf(userB, a)).not.toBe(keyOf(userA, a))
      const same = JSON.stringify(normalizeImportArguments(a)) === JSON.stringify(normalizeImportArguments(b))
      expect(keyOf(userA, b) === keyOf(userA, a)).toBe(same)
    }))
  })

  it("differs when one field changes", () => {
    const base: ImportRequest = { url: "https://www.linkedin.com/sales/search/people?query=x", maxResults: 100 }
    const keys = [
      base,
      { ...base, url: `${base.url}y` },
      { ...base, maxResults: 101 },
      { ...base, skipExistingCustomers: false },
      { ...base, listName: "Leads" },
      { ...base, listId: "3c90c3cc-0d44-4b50-8888-8dd25736052a" }
    ].map((a) => keyOf("u-1", a))
    expect(new Set(keys).size).toBe(keys.length)
  })
})
