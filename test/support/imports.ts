/** Driving imports over HTTP and checking what every finished import must satisfy. */
import { Effect } from "effect"
import { expect } from "vitest"
import { sql } from "kysely"
import type { Lead } from "../../events/index.ts"
import { Database } from "../../src/db/Database.ts"
import type { Client, Reply } from "./server.ts"

export interface ImportStatusBody {
  readonly runId: string
  readonly listId: string
  readonly status: string
  readonly requested: number
  readonly maxResults: number
  readonly wasCapped: boolean
  readonly totalAvailable: number | null
  readonly pagesFetched: number
  readonly leadsFetched: number
  readonly leadsImported: number
  readonly skippedExisting: number
  readonly skippedDuplicate: number
  readonly overCap: number
  readonly creditsReserved: number
  readonly creditsCharged: number
  readonly creditsRefunded: number
  readonly completionReason: string | null
  readonly cancelRequested: boolean
  readonly error: string | null
}

export const startImport = (api: Client, token: string, body: Record<string, unknown>): Effect.Effect<Reply> =>
  Effect.promise(() => api.request("POST", "/api/lists/import-sales-nav", { token, json: body }))

/** Polls the import until it has ended; returns its status and every distinct row count seen on the way. */
export const awaitImport = (api: Client, token: string, runId: string, listId: string, timeoutMs = 120_000) =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    const rowCounts: Array<number> = []
    while (true) {
      const status = yield* Effect.promise(() => api.request("GET", `/api/imports/${runId}`, { token }))
      const rows = yield* Effect.promise(() => api.request("GET", `/api/lists/${listId}/rows?limit=1`, { token }))
      if (rowCounts.at(-1) !== rows.body.total) rowCounts.push(rows.body.total)
      const body = status.body as ImportStatusBody
      if (body.status === "completed" || body.status === "failed" || body.status === "canceled") return { status: body, rowCounts }
      if (Date.now() > deadline) throw new Error(`import ${runId} still ${body.status} after ${timeoutMs} ms`)
      yield* Effect.sleep("25 millis")
    }
  })

/** Every row of a list, in order, through the paginated API. */
export const allRows = (api: Client, token: string, listId: string) =>
  Effect.gen(function*() {
    const rows: Array<any> = []
    for (let offset = 0;; offset += 500) {
      const page = yield* Effect.promise(() => api.request("GET", `/api/lists/${listId}/rows?limit=500&offset=${offset}`, { token }))
      rows.push(...page.body.rows)
      if (!page.body.hasMore) return rows
    }
  })

/** What identifies a person in a row or a lead, for comparing lists with searches. */
export const personOf = (x: { linkedinUrl: string | null; profileData?: { fullName: string; currentCompany?: string | null } } | Lead) =>
  "profileData" in x && x.profileData
    ? `${x.linkedinUrl ?? ""}|${x.profileData.fullName}|${x.profileData.currentCompany ?? ""}`
    : `${(x as Lead).linkedinUrl ?? ""}|${(x as Lead).fullName}|${(x as Lead).currentCompany ?? ""}`

/**
 * What every ended import must satisfy: rows = imported = charged ≤ maxResults;
 * refunded = reserved - charged (exactly one refund); every fetched lead accounted for;
 * no person twice in the list; the import's rows in the list are exactly its rows.
 */
export const expectImportInvariants = (status: ImportStatusBody) =>
  Effect.gen(function*() {
    const db = yield* Database
    expect(["completed", "failed", "canceled"]).toContain(status.status)
    expect(status.creditsCharged).toBe(status.leadsImported)
    expect(status.leadsImported).toBeLessThanOrEqual(status.maxResults)
    expect(status.creditsReserved).toBe(status.maxResults)
    expect(status.creditsRefunded).toBe(status.creditsReserved - status.creditsCharged)
    if (status.status === "completed") {
      expect(status.leadsFetched).toBe(status.leadsImported + status.skippedDuplicate + status.skippedExisting + status.overCap)
    }
    const { rows } = yield* db.query((q) =>
      sql<Record<string, number>>`select
        (select count(*)::int from list_rows r join imports i on i.import_id = r.import_id where i.run_id = ${status.runId}) as rows,
        (select count(*)::int from list_rows where list_id = ${status.listId}::uuid) as list_rows,
        (select count(distinct coalesce(linkedin_url, profile->>'fullName' || '|' || coalesce(profile->>'currentCompany', '')))::int
           from list_rows where list_id = ${status.listId}::uuid) as distinct_people,
        (select count(*)::int from events e join imports i on e.correlation_id = i.import_id::text
           where i.run_id = ${status.runId} and e.type = 'CreditsRefunded') as refunds,
        (select count(*)::int from events e join imports i on e.correlation_id = i.import_id::text
           where i.run_id = ${status.runId} and e.type in ('ImportCompleted', 'ImportFailed', 'ImportCanceled')) as endings`.execute(q)
    )
    const counts = rows[0]!
    expect(counts.rows).toBe(status.leadsImported)
    expect(counts.distinct_people).toBe(counts.list_rows)
    expect(counts.refunds).toBe(1)
    expect(counts.endings).toBe(1)
  }).pipe(Effect.orDie)
