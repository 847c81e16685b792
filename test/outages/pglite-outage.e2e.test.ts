/**
 * Database outages on PGlite: the embedded database cannot go away by itself, so its connection
 * is cut at the Database edge (support/database-outage.ts: connections refused, statements failed,
 * the open transaction rolled back). The service on a real socket, the local engine, an import in
 * flight: every operation answers 503 with Retry-After at once and writes nothing; when the
 * connection is back the next requests answer 200 and the import finishes, every lead and credit
 * accounted for. An outage in the moment after an import commits changes nothing: its run was
 * committed with it (one statement), the answer is 200, and the engine runs it once the database
 * is back. Runs in both passes (always on PGlite;
 * postgres-outage.e2e covers PostgreSQL).
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Database, isDatabaseUnavailable } from "../../src/db/Database.ts"
import { fakeSearchPeople } from "../../src/leads/FakeLeadSource.ts"
import { outageSwitch, PGliteWithOutage } from "../support/database-outage.ts"
import { eventually } from "../support/eventually.ts"
import { allRows, awaitImport, personOf, startImport } from "../support/imports.ts"
import { KNOWN_OPERATIONS, operationsOf, walkEveryOperation, writesBesides } from "../support/outage.ts"
import { ADMIN_TOKEN, call, client, SUPPORT_TOKEN, TestApp } from "../support/server.ts"

const outage = outageSwitch()
const MAX_RESULTS = 200

layer(TestApp({}, { database: PGliteWithOutage(outage) }), { excludeTestServices: true })("PGlite connection lost", (it) => {
  it.effect("a transaction cut by the outage rolls back: nothing of it is written", () =>
    Effect.gen(function*() {
      const db = yield* Database
      const email = `${crypto.randomUUID()}@cut.example.com`
      const failure = yield* Effect.flip(db.transaction(Effect.gen(function*() {
        yield* db.query((q) => q.insertInto("users").values({ id: crypto.randomUUID(), email }).execute())
        outage.down()
        yield* db.query((q) => q.selectFrom("users").select("id").execute())
      })))
      outage.up()
      expect(isDatabaseUnavailable(failure)).toBe(true)
      const written = yield* db.query((q) => q.selectFrom("users").select("id").where("email", "=", email).execute())
      expect(written).toEqual([])
    }).pipe(Effect.ensuring(Effect.sync(outage.up))))

  it.effect("mid-import: 503 everywhere and nothing written while down; 200 again once back, and the import finishes", () =>
    Effect.gen(function*() {
      const api = yield* client
      const db = yield* Database
      const user = (yield* call(() => api.request("POST", "/api/admin/users", {
        token: ADMIN_TOKEN,
        json: { email: `${crypto.randomUUID()}@example.com`, credits: 2000, salesNavigator: true }
      }))).body
      const url = `https://www.linkedin.com/sales/search/people?query=(pglite-outage-${crypto.randomUUID().slice(0, 8)})&fakeLatencyMs=60`
      const started = (yield* startImport(api, user.token, { url, maxResults: MAX_RESULTS })).body
      expect(started.success).toBe(true)
      const before = yield* eventually(
        Effect.promise(() => api.request("GET", `/api/imports/${started.runId}`, { token: user.token })),
        (r) => r.body.leadsImported >= 25,
        { timeoutMs: 60_000 }
      )
      expect(before.body.status).toBe("running")
      const { import_id: importId } = yield* db.query((q) =>
        q.selectFrom("imports").select("import_id").where("run_id", "=", started.runId).executeTakeFirstOrThrow()
      )
      const { id: tokenId } = yield* db.query((q) =>
        q.selectFrom("api_tokens").select("id").where("user_id", "=", user.userId).executeTakeFirstOrThrow()
      )
      const writesBefore = yield* Effect.promise(() => writesBesides(db.kysely, importId))
      const operations = operationsOf((yield* call(() => api.request("GET", "/openapi.json"))).body)

      outage.down()
      const answers = yield* Effect.promise(() =>
        walkEveryOperation(api.baseUrl, operations, { listId: started.listId, runId: started.runId, userId: user.userId, tokenId }, {
          user: user.token,
          admin: ADMIN_TOKEN,
          support: SUPPORT_TOKEN
        })
      )
      for (const answer of answers.filter((a) => (KNOWN_OPERATIONS as ReadonlyArray<string>).includes(a.operation))) {
        expect(answer, answer.operation).toMatchObject({ status: 503, code: "SERVICE_UNAVAILABLE", retryAfter: "5" })
        expect(answer.ms, answer.operation).toBeLessThan(5_000)
      }
      for (const answer of answers) expect(answer.status === 503 || (answer.status >= 400 && answer.status < 500), answer.operation).toBe(true)
      // The import's stages meet the outage and wait.
      yield* Effect.sleep("1 second")
      outage.up()

      const recovered = yield* Effect.promise(() => api.request("GET", "/api/credits", { token: user.token }))
      expect(recovered.status).toBe(200)
      const { status } = yield* awaitImport(api, user.token, started.runId, started.listId)
      expect(status).toMatchObject({ status: "completed", completionReason: "cap_reached", leadsImported: MAX_RESULTS, creditsCharged: MAX_RESULTS })
      expect(status.leadsImported).toBeGreaterThan(before.body.leadsImported)
      expect(status.creditsRefunded).toBe(status.creditsReserved - status.creditsCharged)
      const rows = yield* allRows(api, user.token, started.listId)
      expect(rows.map(personOf)).toEqual(fakeSearchPeople(url).slice(0, MAX_RESULTS).map(personOf))
      const events = (yield* call(() => api.request("GET", `/api/imports/${started.runId}/events`, { token: user.token }))).body.events as Array<{ type: string }>
      expect(events.filter((e) => e.type === "CreditsRefunded")).toHaveLength(1)
      expect(events.filter((e) => e.type === "BatchPersisted").length).toBe(events.filter((e) => e.type === "PageFetched").length)
      const credits = (yield* call(() => api.request("GET", "/api/credits", { token: user.token }))).body
      expect(credits).toEqual({ balance: 2000 - MAX_RESULTS, reserved: 0, available: 2000 - MAX_RESULTS })
      const writesAfter = yield* Effect.promise(() => writesBesides(db.kysely, importId))
      expect(writesAfter).toEqual(writesBefore)
      expect(writesAfter).toMatchObject({ refusedList: 0, refusedUser: 0 })
    }).pipe(Effect.ensuring(Effect.sync(outage.up))), { timeout: 120_000 })

  it.effect("the database goes away just after an import commits: the run was committed with it, so 200 with its run id, and it runs once the database is back", () =>
    Effect.gen(function*() {
      const api = yield* client
      const db = yield* Database
      const user = (yield* call(() => api.request("POST", "/api/admin/users", {
        token: ADMIN_TOKEN,
        json: { email: `${crypto.randomUUID()}@example.com`, credits: 100, salesNavigator: true }
      }))).body
      // Down the moment the import's one statement (which writes its run, its outbox entry closed
      // with it, and ImportEnqueued) has answered: nothing of the request is left to write.
      outage.downAfter(/start_import/)
      const url = `https://www.linkedin.com/sales/search/people?query=(after-commit-${crypto.randomUUID().slice(0, 8)})`
      const answer = yield* startImport(api, user.token, { url, maxResults: 50 })
      expect(answer.status).toBe(200)
      expect(answer.body).toMatchObject({ success: true, maxResults: 50, wasCapped: false })
      // The engine cannot take the run while the database is away; once it is back, it does.
      yield* Effect.sleep("500 millis")
      outage.up()

      const recorded = yield* db.query((q) =>
        q.selectFrom("imports").innerJoin("outbox", "outbox.import_id", "imports.import_id")
          .select(["imports.run_id", "outbox.run_id as outbox_run_id", "outbox.dispatched_at"])
          .where("imports.user_id", "=", user.userId).execute()
      )
      expect(recorded).toEqual([{ run_id: answer.body.runId, outbox_run_id: answer.body.runId, dispatched_at: expect.any(Date) }])
      const { status } = yield* awaitImport(api, user.token, answer.body.runId, answer.body.listId)
      expect(status).toMatchObject({ status: "completed", leadsImported: 50, creditsCharged: 50, creditsRefunded: 0 })
      const credits = (yield* call(() => api.request("GET", "/api/credits", { token: user.token }))).body
      expect(credits).toEqual({ balance: 50, reserved: 0, available: 50 })
    }).pipe(Effect.ensuring(Effect.sync(outage.up))), { timeout: 120_000 })
})
