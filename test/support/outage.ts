/**
 * What outage tests share: a walk over every operation of the served OpenAPI document while
 * the database is away, and a snapshot of everything a refused request could have written.
 *
 * The walk puts real ids in paths (a list, a run, a user, a token of the test, a projection) and
 * sends valid bodies and queries, with the token each path is for (admin, support, a user's), to
 * the operations it knows, so each request gets as far as needing the database. Operations added
 * later (by other features) are walked too, with an empty body.
 */
import { type Kysely, sql } from "kysely"
import type { DB } from "../../src/db/schema.ts"

export interface WalkIds {
  readonly listId: string
  readonly runId: string
  readonly userId: string
  readonly tokenId: string
}

export interface WalkTokens {
  readonly user: string
  readonly admin: string
  readonly support: string
}

export interface Answer {
  /** `METHOD /path/{param}` as in the document. */
  readonly operation: string
  readonly status: number
  readonly code: string | undefined
  readonly retryAfter: string | null
  readonly ms: number
}

/** What the refused writes would have created, so a test can look for it afterwards. */
export const REFUSED = {
  email: "refused-during-the-outage@example.com",
  listName: "refused during the outage",
  grant: 777
} as const

/** Valid bodies: a request that reaches the database (nothing here is refused for its body). */
const bodies: Record<string, unknown> = {
  "POST /api/lists/import-sales-nav": {
    url: "https://www.linkedin.com/sales/search/people?query=(keywords%3Arefused)",
    listName: REFUSED.listName,
    maxResults: 10
  },
  "POST /api/admin/users": { email: REFUSED.email, credits: 5, salesNavigator: true },
  "POST /api/admin/users/{userId}/credits": { amount: REFUSED.grant },
  "POST /api/admin/users/{userId}/linkedin-accounts": { name: "refused account", hasSalesNavigator: true }
}

/** Valid queries, for the operations that require one. */
const queries: Record<string, string> = {
  "GET /api/support/lists/{listId}/rows": "asOf=2100-01-01T00:00:00Z"
}

/** A real projection: an unknown name is refused (404) before the database is asked. */
const PROJECTION = "credits"

/** Every operation served today: each must answer 503 SERVICE_UNAVAILABLE while the database is away. */
export const KNOWN_OPERATIONS = [
  "POST /api/lists/import-sales-nav",
  "GET /api/imports",
  "GET /api/imports/{runId}/stream",
  "GET /api/imports/{runId}",
  "POST /api/imports/{runId}/cancel",
  "GET /api/imports/{runId}/events",
  "GET /api/lists/sales-nav-access",
  "GET /api/lists/{listId}",
  "GET /api/lists/{listId}/rows",
  "GET /api/credits",
  "POST /api/admin/users",
  "POST /api/admin/users/{userId}/tokens",
  "DELETE /api/admin/tokens/{tokenId}",
  "POST /api/admin/users/{userId}/credits",
  "POST /api/admin/users/{userId}/linkedin-accounts",
  "GET /api/support/events",
  "GET /api/support/imports/{runId}",
  "GET /api/support/projections",
  "POST /api/support/projections/{name}/rebuild",
  "GET /api/support/lists/{listId}/rows"
] as const

/** The served document's operations, as `METHOD /path/{param}`. */
export const operationsOf = (document: { readonly paths: Record<string, Record<string, unknown>> }): Array<string> =>
  Object.entries(document.paths).flatMap(([path, item]) =>
    Object.keys(item).filter((m) => ["get", "post", "put", "patch", "delete"].includes(m)).map((m) => `${m.toUpperCase()} ${path}`)
  )

/** Calls every operation once (in parallel, as clients would); returns what each answered and how fast. */
export const walkEveryOperation = (baseUrl: string, operations: ReadonlyArray<string>, ids: WalkIds, tokens: WalkTokens) =>
  Promise.all(operations.map(async (operation): Promise<Answer> => {
    const [method, template] = operation.split(" ") as [string, string]
    const values: Record<string, string> = { ...ids, name: PROJECTION }
    const path = template.replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? crypto.randomUUID())
    const body = method === "GET" || method === "DELETE" ? undefined : JSON.stringify(bodies[operation] ?? {})
    const token = path.startsWith("/api/admin/") ? tokens.admin : path.startsWith("/api/support/") ? tokens.support : tokens.user
    const started = performance.now()
    const response = await fetch(`${baseUrl}${path}${queries[operation] ? `?${queries[operation]}` : ""}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {})
      },
      ...(body !== undefined ? { body } : {})
    })
    const text = await response.text()
    const ms = performance.now() - started
    let code: string | undefined
    try {
      code = JSON.parse(text).code
    } catch {
      code = undefined
    }
    return { operation, status: response.status, code, retryAfter: response.headers.get("retry-after"), ms }
  }))

/**
 * Counts of everything a request other than the import's own run writes: if a refused request
 * wrote anything, one of them differs after the outage.
 */
export const writesBesides = async (db: Kysely<DB>, importId: string) => {
  const count = async (table: keyof DB, where = sql`true`) =>
    Number((await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)} where ${where}`.execute(db)).rows[0]!.n)
  return {
    eventsOfOthers: await count("events", sql`correlation_id is distinct from ${importId}`),
    outbox: await count("outbox"),
    lists: await count("lists"),
    users: await count("users"),
    tokens: await count("api_tokens"),
    revokedTokens: await count("api_tokens", sql`revoked_at is not null`),
    linkedinAccounts: await count("linkedin_accounts"),
    creditHolds: await count("credit_holds"),
    idempotencyKeys: await count("idempotency_keys"),
    // A rebuild refused with 503 started nothing.
    projectionVersions: await count("projection_versions"),
    rebuilding: await count("projection_versions", sql`building is not null`),
    refusedList: await count("lists", sql`name = ${REFUSED.listName}`),
    refusedUser: await count("users", sql`email = ${REFUSED.email}`)
  }
}
