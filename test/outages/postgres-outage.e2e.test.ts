/**
 * Database outages, for real: the service (`node src/main.ts`) on a PostgreSQL server of this
 * test's own, which the test stops and starts mid-import (a private server, so no other test
 * loses its database). It needs the machine's PostgreSQL binaries, not DATABASE_URL, so it runs
 * in both passes of the suite.
 *
 *  - stopped: every operation answers 503 SERVICE_UNAVAILABLE with Retry-After at once, and
 *    nothing the refused requests asked for is written;
 *  - started again: 200 without restarting the service, and the import it interrupted finishes
 *    with every lead and credit accounted for;
 *  - SIGTERM while it is stopped (or its database dropped) and an import runs: the process exits
 *    within SHUTDOWN_GRACE_MS, and the import resumes at the next start, refunded once.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Kysely } from "kysely"
import { PostgresJSDialect } from "kysely-postgres-js"
import type { ChildProcess } from "node:child_process"
import postgres from "postgres"
import { migrateToLatest } from "../../src/db/migrate.ts"
import type { DB } from "../../src/db/schema.ts"
import { fakeSearchPeople } from "../../src/leads/FakeLeadSource.ts"
import { personOf } from "../support/imports.ts"
import { KNOWN_OPERATIONS, operationsOf, walkEveryOperation, writesBesides } from "../support/outage.ts"
import { withDatabase } from "../support/postgres-url.ts"
import { type PrivatePostgres, startPrivatePostgres } from "../support/private-postgres.ts"
import { api, exited, freePort, startService, waitFor } from "../support/service-process.ts"

const ADMIN = "outage-admin-token"
const SUPPORT = "outage-support-token"
const GRACE_MS = 4_000
const MAX_RESULTS = 200

let server: PrivatePostgres

beforeAll(async () => {
  server = await startPrivatePostgres()
  // Migrated once: each test's database is a copy, so the service starts without migrating.
  const admin = postgres(server.url, { max: 1, onnotice: () => {} })
  try {
    await admin.unsafe("create database outage_template")
  } finally {
    await admin.end()
  }
  await inspect(withDatabase(server.url, "outage_template"), migrateToLatest)
}, 60_000)
afterAll(() => server?.destroy())

/** A fresh database on the private server (running again if a test before stopped it); its URL. */
const createDatabase = async (name: string) => {
  server.start()
  const admin = postgres(server.url, { max: 1, onnotice: () => {} })
  try {
    await admin.unsafe(`create database ${name} template outage_template`)
  } finally {
    await admin.end()
  }
  return withDatabase(server.url, name)
}

const inspect = async <A>(url: string, f: (db: Kysely<DB>) => Promise<A>): Promise<A> => {
  const db = new Kysely<DB>({ dialect: new PostgresJSDialect({ postgres: postgres(url, { max: 1, onnotice: () => {} }) }) })
  try {
    return await f(db)
  } finally {
    await db.destroy()
  }
}

/** The service on `databaseUrl`, a user with credits, and an import that is well under way. */
const serviceWithImportInFlight = async (databaseUrl: string, output: Array<string>, extraEnv: Record<string, string> = {}) => {
  const port = await freePort()
  const env: Record<string, string> = {
    PORT: String(port),
    ADMIN_TOKEN: ADMIN,
    SUPPORT_TOKEN: SUPPORT,
    DEMO_USER: "false",
    TASK_ENGINE: "local",
    DATABASE_URL: databaseUrl,
    FAKE_PAGE_LATENCY_MS: "0",
    // A restarted service takes the stopped one's run over once its lease has expired.
    LOCAL_ENGINE_LEASE_MS: "1000",
    SHUTDOWN_GRACE_MS: String(GRACE_MS),
    ...extraEnv
  }
  const child = startService(env, output)
  const call = api(port)
  await waitFor("the service", async () => (await call("GET", "/openapi.json")).status === 200 ? true : undefined, 60_000)
  const user = (await call("POST", "/api/admin/users", ADMIN, { email: `${crypto.randomUUID()}@example.com`, credits: 2000, salesNavigator: true })).body
  // Pages of 80 ms: the import runs for a second or so, long enough to be cut in the middle.
  const url = `https://www.linkedin.com/sales/search/people?query=(outage-${crypto.randomUUID().slice(0, 8)})&fakeLatencyMs=80`
  const started = (await call("POST", "/api/lists/import-sales-nav", user.token, { url, maxResults: MAX_RESULTS })).body
  expect(started.success).toBe(true)
  const before = await waitFor("rows to stream in", async () => {
    const status = (await call("GET", `/api/imports/${started.runId}`, user.token)).body
    return status.leadsImported >= 25 ? status : undefined
  })
  expect(before.status).toBe("running")
  return { env, port, call, child, user, url, started, before }
}

/** The import has ended as it should have had there been no outage: every lead and credit accounted for. */
const expectAccountedFor = async (call: ReturnType<typeof api>, token: string, runId: string, listId: string, searchUrl: string) => {
  const after = await waitFor("the import to end", async () => {
    const status = (await call("GET", `/api/imports/${runId}`, token)).body
    return ["completed", "failed", "canceled"].includes(status?.status) ? status : undefined
  }, 90_000)
  expect(after).toMatchObject({ status: "completed", completionReason: "cap_reached", leadsImported: MAX_RESULTS, creditsCharged: MAX_RESULTS })
  expect(after.creditsRefunded).toBe(after.creditsReserved - after.creditsCharged)
  const rows: Array<any> = []
  for (let offset = 0;; offset += 500) {
    const page = (await call("GET", `/api/lists/${listId}/rows?limit=500&offset=${offset}`, token)).body
    rows.push(...page.rows)
    if (!page.hasMore) break
  }
  // Exactly the search's first people, in order: none lost, none twice.
  expect(rows.map(personOf)).toEqual(fakeSearchPeople(searchUrl).slice(0, MAX_RESULTS).map(personOf))
  expect(new Set(rows.map((r) => r.id)).size).toBe(after.leadsImported)
  const events = (await call("GET", `/api/imports/${runId}/events`, token)).body.events as Array<{ type: string; eventId: string }>
  const count = (type: string) => events.filter((e) => e.type === type).length
  expect(count("CreditsRefunded")).toBe(1)
  expect(count("ImportCompleted")).toBe(1)
  expect(count("BatchPersisted")).toBe(count("PageFetched"))
  expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length)
  // granted = available + reserved + charged, nothing left reserved.
  const credits = (await call("GET", "/api/credits", token)).body
  expect(credits).toEqual({ balance: 2000 - after.creditsCharged, reserved: 0, available: 2000 - after.creditsCharged })
  return after
}

const kill = (child: ChildProcess | undefined) => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
}

describe("PostgreSQL outage (a private server, the real service)", () => {
  it("stopped mid-import: every operation answers 503 at once and writes nothing; started again: 200, and the import finishes", async () => {
    const databaseUrl = await createDatabase("outage_recovery")
    const output: Array<string> = []
    let child: ChildProcess | undefined
    try {
      const s = await serviceWithImportInFlight(databaseUrl, output)
      child = s.child
      const importId = await inspect(databaseUrl, async (db) =>
        (await db.selectFrom("imports").select("import_id").where("run_id", "=", s.started.runId).executeTakeFirstOrThrow()).import_id)
      const tokenId = await inspect(databaseUrl, async (db) =>
        (await db.selectFrom("api_tokens").select("id").where("user_id", "=", s.user.userId).executeTakeFirstOrThrow()).id)
      const writesBefore = await inspect(databaseUrl, (db) => writesBesides(db, importId))
      const operations = operationsOf((await s.call("GET", "/openapi.json")).body)
      expect(operations).toEqual(expect.arrayContaining([...KNOWN_OPERATIONS]))

      server.stop()
      const answers = await walkEveryOperation(
        `http://127.0.0.1:${s.port}`,
        operations,
        { listId: s.started.listId, runId: s.started.runId, userId: s.user.userId, tokenId },
        { user: s.user.token, admin: ADMIN, support: SUPPORT }
      )
      for (const answer of answers.filter((a) => (KNOWN_OPERATIONS as ReadonlyArray<string>).includes(a.operation))) {
        expect(answer, answer.operation).toMatchObject({ status: 503, code: "SERVICE_UNAVAILABLE", retryAfter: "5" })
        expect(answer.ms, answer.operation).toBeLessThan(5_000)
      }
      // Operations other features add are walked with an empty body: refused for it, or 503 — never a 500.
      for (const answer of answers) expect(answer.status === 503 || (answer.status >= 400 && answer.status < 500), answer.operation).toBe(true)
      console.info(`outage: ${answers.length} operations answered 503 in at most ${Math.max(...answers.map((a) => a.ms)).toFixed(0)} ms`)

      // While it is down the import's stages fail and wait; give them time to.
      await new Promise((r) => setTimeout(r, 1_000))
      server.start()
      const upAt = performance.now()
      await waitFor("a 200 after the restart", async () => (await s.call("GET", "/api/credits", s.user.token)).status === 200 ? true : undefined, 30_000)
      console.info(`outage: first 200 ${(performance.now() - upAt).toFixed(0)} ms after PostgreSQL accepted connections again`)

      const after = await expectAccountedFor(s.call, s.user.token, s.started.runId, s.started.listId, s.url)
      expect(after.leadsImported).toBeGreaterThan(s.before.leadsImported)
      const writesAfter = await inspect(databaseUrl, (db) => writesBesides(db, importId))
      expect(writesAfter).toEqual(writesBefore)
      expect(writesAfter).toMatchObject({ refusedList: 0, refusedUser: 0, outbox: 1, lists: 1, revokedTokens: 0 })
    } catch (e) {
      throw new Error(`${String(e)}\n--- service output ---\n${output.join("").slice(-4000)}`)
    } finally {
      kill(child)
    }
  }, 120_000)

  it("SIGTERM with PostgreSQL stopped and an import in flight: exits within the grace period; the import resumes at the next start", async () => {
    const databaseUrl = await createDatabase("outage_sigterm")
    const output: Array<string> = []
    let child: ChildProcess | undefined
    try {
      const s = await serviceWithImportInFlight(databaseUrl, output)
      child = s.child
      server.stop()
      // Let the stages meet the outage (failed statements, retries waiting) before the signal.
      await new Promise((r) => setTimeout(r, 500))
      const gone = exited(s.child)
      const signalledAt = performance.now()
      s.child.kill("SIGTERM")
      await gone
      const exitMs = performance.now() - signalledAt
      console.info(`outage: SIGTERM with PostgreSQL down exited in ${exitMs.toFixed(0)} ms (code ${s.child.exitCode})`)
      expect(exitMs).toBeLessThan(GRACE_MS + 10_000)
      // A clean stop, or the grace period ran out and the process said what it abandoned.
      if (s.child.exitCode !== 0) {
        expect(s.child.exitCode).toBe(1)
        expect(output.join("")).toMatch(/Abandoned: import /)
      }

      server.start()
      child = startService(s.env, output)
      const after = await expectAccountedFor(s.call, s.user.token, s.started.runId, s.started.listId, s.url)
      expect(after.leadsImported).toBeGreaterThan(s.before.leadsImported)
      expect(output.join("")).toMatch(/local engine: (resuming|took over) 1 import\(s\)/)
    } catch (e) {
      throw new Error(`${String(e)}\n--- service output ---\n${output.join("").slice(-4000)}`)
    } finally {
      kill(child)
    }
  }, 120_000)

  it("SIGTERM with the service's database dropped mid-import: 503 before, and the process exits within the grace period", async () => {
    const databaseUrl = await createDatabase("outage_dropped")
    const output: Array<string> = []
    let child: ChildProcess | undefined
    try {
      const s = await serviceWithImportInFlight(databaseUrl, output)
      child = s.child
      const admin = postgres(server.url, { max: 1, onnotice: () => {} })
      try {
        await admin.unsafe("drop database outage_dropped with (force)")
      } finally {
        await admin.end()
      }
      const refused = await s.call("GET", "/api/credits", s.user.token)
      expect(refused).toMatchObject({ status: 503, body: { code: "SERVICE_UNAVAILABLE" } })
      const gone = exited(s.child)
      const signalledAt = performance.now()
      s.child.kill("SIGTERM")
      await gone
      const exitMs = performance.now() - signalledAt
      console.info(`outage: SIGTERM with the database dropped exited in ${exitMs.toFixed(0)} ms (code ${s.child.exitCode})`)
      expect(exitMs).toBeLessThan(GRACE_MS + 10_000)
      expect([0, 1]).toContain(s.child.exitCode)
    } catch (e) {
      throw new Error(`${String(e)}\n--- service output ---\n${output.join("").slice(-4000)}`)
    } finally {
      kill(child)
    }
  }, 120_000)
})
