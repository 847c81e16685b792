/**
 * test/contract/openapi.yaml is the repo's copy of the shared contract, so CI on a clean
 * clone (without ../shared) can still check the API against it. Next to the shared
 * contract the copy must be byte-identical (drift is caught); alone, it must still be
 * an OpenAPI 3.1 document with every operation of the contract.
 */
import { describe, expect, it } from "@effect/vitest"
import { existsSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { parse } from "yaml"

const COPY = fileURLToPath(new URL("./openapi.yaml", import.meta.url))
const SHARED = fileURLToPath(new URL("../../../shared/contract/openapi.yaml", import.meta.url))

const OPERATIONS = [
  "DELETE /api/admin/tokens/{tokenId}",
  "GET /api/credits",
  "GET /api/imports",
  "GET /api/imports/{runId}",
  "GET /api/imports/{runId}/events",
  "GET /api/imports/{runId}/stream",
  "GET /api/lists/sales-nav-access",
  "GET /api/lists/{listId}",
  "GET /api/lists/{listId}/rows",
  "GET /api/support/events",
  "GET /api/support/imports/{runId}",
  "GET /api/support/lists/{listId}/rows",
  "GET /api/support/projections",
  "POST /api/admin/users",
  "POST /api/admin/users/{userId}/credits",
  "POST /api/admin/users/{userId}/linkedin-accounts",
  "POST /api/admin/users/{userId}/tokens",
  "POST /api/imports/{runId}/cancel",
  "POST /api/lists/import-sales-nav",
  "POST /api/support/projections/{name}/rebuild"
]

const METHODS = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"])

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** "METHOD /path" for every operation of a parsed document, sorted. */
const operationsOf = (doc: unknown): ReadonlyArray<string> => {
  const paths = isRecord(doc) && isRecord(doc.paths) ? doc.paths : {}
  return Object.entries(paths)
    .flatMap(([path, item]) =>
      Object.keys(isRecord(item) ? item : {})
        .filter((key) => METHODS.has(key))
        .map((method) => `${method.toUpperCase()} ${path}`)
    )
    .sort()
}

const sharedPresent = existsSync(SHARED)

describe("test/contract/openapi.yaml", () => {
  it(
    sharedPresent
      ? "is byte-identical to ../shared/contract/openapi.yaml, and is OpenAPI 3.1 with the contract's operations"
      : "(../shared absent: clean clone) is OpenAPI 3.1 with the contract's operations",
    () => {
      const copy = readFileSync(COPY)
      if (sharedPresent) expect(copy.equals(readFileSync(SHARED))).toBe(true)
      const doc: unknown = parse(copy.toString("utf8"))
      expect(isRecord(doc) && doc.openapi).toMatch(/^3\.1\./)
      expect(operationsOf(doc)).toEqual(OPERATIONS)
    }
  )
})
