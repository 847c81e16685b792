/**
 * The arguments of the import_sales_nav tool as the import command takes them, and the
 * idempotency key the tool sends when the agent gives none. An agent that retries a call
 * (a timeout, a lost connection, a second thought) must never start a second paid import,
 * so the key is derived from the user and the normalized arguments: the same call within
 * the key's lifetime (24 hours) answers the first import again.
 */
import { createHash } from "node:crypto"
import type { ImportRequest } from "../http/Api.ts"
import { requestHash } from "../imports/idempotency.ts"
import type { StartImportRequest } from "../imports/Imports.ts"

/** The API's defaults (POST /api/lists/import-sales-nav). */
export const DEFAULT_MAX_RESULTS = 2500
export const DEFAULT_SKIP_EXISTING_CUSTOMERS = true

/**
 * Defaults applied, and the list id in lower case (a UUID names the same list in either
 * case), so two calls that mean the same import are the same request.
 */
export const normalizeImportArguments = (args: ImportRequest): StartImportRequest => ({
  url: args.url,
  listId: args.listId?.toLowerCase(),
  listName: args.listName,
  maxResults: args.maxResults ?? DEFAULT_MAX_RESULTS,
  skipExistingCustomers: args.skipExistingCustomers ?? DEFAULT_SKIP_EXISTING_CUSTOMERS
})

/** Derived keys start with this; a key an agent makes up is used as given. */
export const DERIVED_KEY_PREFIX = "mcp-"

/** The key for this user and these (normalized) arguments: printable ASCII, 68 characters. */
export const derivedIdempotencyKey = (userId: string, request: StartImportRequest): string =>
  DERIVED_KEY_PREFIX + createHash("sha256").update(JSON.stringify([userId, requestHash(request)])).digest("hex")
