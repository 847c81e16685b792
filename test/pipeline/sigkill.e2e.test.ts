/**
 * Durability of the local engine: the real service (`node src/main.ts`) is SIGKILLed
 * in the middle of an import and started again on the same database. The import
 * resumes from its events and ends with every invariant intact.
 */
import { describe, expect, it } from "@effect/vitest"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fakeSearchPeople } from "../../src/leads/FakeLeadSource.ts"
import { backend, createScratchDatabase } from "../support/db.ts"
import { personOf } from "../support/imports.ts"
import { api, exited, freePort, startService, waitFor } from "../support/service-process.ts"

const ADMIN = "sigkill-admin-token"

describe(`SIGKILL mid-import (${backend})`, () => {
  it("the import resumes at the next start and completes with every invariant", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "sigkill-pglite-"))
    const scratch = backend === "postgres" ? await createScratchDatabase() : undefined
    const port = await freePort()
    const env: Record<string, string> = {
      PORT: String(port),
      ADMIN_TOKEN: ADMIN,
      DEMO_USER: "false",
      FAKE_PAGE_LATENCY_MS: "40",
      TASK_ENGINE: "local",
      // On PostgreSQL the killed engine's lease must expire before the next one takes its run over.
      LOCAL_ENGINE_LEASE_MS: "2000",
      ...(scratch ? { DATABASE_URL: scratch.url } : { DATABASE_URL: "", PGLITE_DATA_DIR: dataDir })
    }
    const output: Array<string> = []
    const call = api(port)
    let child = startService(env, output)
    try {
      await waitFor("the service", async () => (await call("GET", "/openapi.json")).status === 200 ? true : undefined)
      const user = (await call("POST", "/api/admin/users", ADMIN, { email: "kill@example.com", credits: 2000, salesNavigator: true })).body
      const url = `https://www.linkedin.com/sales/search/people?query=(sigkill-${crypto.randomUUID().slice(0, 8)})`
      const started = (await call("POST", "/api/lists/import-sales-nav", user.token, { url, maxResults: 600 })).body
      expect(started.success).toBe(true)

      // Let a few pages land, then kill the process without warning.
      const before = await waitFor("rows to stream in", async () => {
        const status = (await call("GET", `/api/imports/${started.runId}`, user.token)).body
        return status.leadsImported >= 75 ? status : undefined
      })
      expect(before.status).toBe("running")
      const gone = exited(child)
      child.kill("SIGKILL")
      await gone

      child = startService(env, output)
      const after = await waitFor("the import to end after the restart", async () => {
        const status = (await call("GET", `/api/imports/${started.runId}`, user.token)).body
        return status.status === "completed" || status.status === "failed" ? status : undefined
      })

      expect(after).toMatchObject({ status: "completed", completionReason: "cap_reached", leadsImported: 600, creditsCharged: 600, creditsRefunded: 0 })
      expect(after.leadsImported).toBeGreaterThan(before.leadsImported)
      const rows: Array<any> = []
      for (let offset = 0;; offset += 500) {
        const page = (await call("GET", `/api/lists/${started.listId}/rows?limit=500&offset=${offset}`, user.token)).body
        rows.push(...page.rows)
        if (!page.hasMore) break
      }
      expect(rows.map(personOf)).toEqual(fakeSearchPeople(url).slice(0, 600).map(personOf))
      const events = (await call("GET", `/api/imports/${started.runId}/events`, user.token)).body.events as Array<{ type: string }>
      const count = (type: string) => events.filter((e) => e.type === type).length
      expect(count("CreditsRefunded")).toBe(1)
      expect(count("ImportCompleted")).toBe(1)
      expect(count("BatchPersisted")).toBe(count("PageFetched"))
      expect(new Set(events.map((e: any) => e.eventId)).size).toBe(events.length)
      const credits = (await call("GET", "/api/credits", user.token)).body
      expect(credits).toEqual({ balance: 1400, reserved: 0, available: 1400 })
      // PGlite: the new process owns the database and resumes at once; PostgreSQL: it takes over
      // the run once the dead engine's lease has expired.
      expect(output.join("")).toMatch(backend === "pglite" ? /local engine: resuming 1 import\(s\)/ : /local engine: (resuming|took over) 1 import\(s\)/)
    } catch (e) {
      throw new Error(`${String(e)}\n--- service output ---\n${output.join("").slice(-4000)}`)
    } finally {
      child.kill("SIGKILL")
      rmSync(dataDir, { recursive: true, force: true })
      await scratch?.drop()
    }
  }, 180_000)
})
