/**
 * POST /api/imports/{runId}/cancel over HTTP, on both engines: the cancel is recorded, the
 * import ends as canceled at once with the rows it imported kept and the rest of its
 * reservation refunded exactly once, nothing more is imported, and on Trigger.dev the run
 * is canceled through the API. Asking again answers 409 IMPORT_ENDED; another user's run
 * id answers exactly as one that exists nowhere.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { snapshotOf, makeUser } from "../support/fixtures.ts"
import { allRows, awaitImport, expectImportInvariants, type ImportStatusBody, startImport } from "../support/imports.ts"
import { call, client, TestApp, TestAppOnTriggerStub, TriggerStub } from "../support/server.ts"

const search = () => `https://www.linkedin.com/sales/search/people?query=(cancel-${crypto.randomUUID().slice(0, 8)})`

const cancel = (token: string | undefined, runId: string) =>
  Effect.flatMap(client, (api) => call(() => api.request("POST", `/api/imports/${runId}/cancel`, { token })))

const status = (token: string, runId: string) =>
  Effect.flatMap(client, (api) => call(() => api.request("GET", `/api/imports/${runId}`, { token })))

const eventTypes = (token: string, runId: string) =>
  Effect.flatMap(client, (api) =>
    call(() => api.request("GET", `/api/imports/${runId}/events`, { token })).pipe(
      Effect.map((r) => (r.body.events as Array<{ type: string }>).map((e) => e.type))
    ))

/** The invariants of a canceled import: rows = charged, reserved = charged + refunded, one refund, ended last. */
const expectCanceled = (token: string, body: ImportStatusBody) =>
  Effect.gen(function*() {
    expect(body).toMatchObject({ status: "canceled", completionReason: "canceled", cancelRequested: true })
    yield* expectImportInvariants(body)
    const types = yield* eventTypes(token, body.runId)
    expect(types.filter((t) => t === "ImportCancelRequested")).toHaveLength(1)
    expect(types.filter((t) => t === "CreditsRefunded")).toHaveLength(1)
    expect(types.at(-1)).toBe("ImportCanceled")
  })

layer(TestApp({ FAKE_PAGE_LATENCY_MS: "40" }), { excludeTestServices: true })("cancel on the local engine", (it) => {
  it.effect("mid-import: ends canceled at once, keeps its rows, refunds the rest once, imports nothing more", () =>
    Effect.gen(function*() {
      const api = yield* client
      const user = yield* makeUser({ credits: 1_000 })
      const started = (yield* startImport(api, user.token, { url: search(), maxResults: 500 })).body
      // Let a few pages land.
      while (((yield* status(user.token, started.runId)).body as ImportStatusBody).leadsImported < 50) yield* Effect.sleep("20 millis")

      const reply = yield* cancel(user.token, started.runId)
      expect(reply.status).toBe(200)
      const canceled = reply.body as ImportStatusBody
      yield* expectCanceled(user.token, canceled)
      expect(canceled.leadsImported).toBeGreaterThanOrEqual(50)
      expect(canceled.creditsRefunded).toBe(500 - canceled.leadsImported)

      // The engine stops at its next stage: nothing is imported or charged after the answer.
      yield* Effect.sleep("400 millis")
      const rows = yield* allRows(api, user.token, started.listId)
      expect(rows).toHaveLength(canceled.leadsImported)
      expect((yield* status(user.token, started.runId)).body).toEqual(canceled)
      const credits = yield* call(() => api.request("GET", "/api/credits", { token: user.token }))
      expect(credits.body).toEqual({ balance: 1_000 - canceled.leadsImported, reserved: 0, available: 1_000 - canceled.leadsImported })

      // Again: it has ended.
      const again = yield* cancel(user.token, started.runId)
      expect(again.status).toBe(409)
      expect(again.body).toMatchObject({ success: false, code: "IMPORT_ENDED" })
    }))

  it.effect("an import that already completed: 409 IMPORT_ENDED, nothing changes", () =>
    Effect.gen(function*() {
      const api = yield* client
      const user = yield* makeUser({ credits: 100 })
      const started = (yield* startImport(api, user.token, { url: search(), maxResults: 10 })).body
      yield* awaitImport(api, user.token, started.runId, started.listId)
      const before = yield* snapshotOf(user.userId)
      const reply = yield* cancel(user.token, started.runId)
      expect(reply.status).toBe(409)
      expect(reply.body).toEqual({
        success: false,
        code: "IMPORT_ENDED",
        error: "The import has already ended (completed); there is nothing to cancel"
      })
      expect(yield* snapshotOf(user.userId)).toEqual(before)
    }))

  it.effect("another user's run id answers exactly as one that exists nowhere, and changes nothing", () =>
    Effect.gen(function*() {
      const api = yield* client
      const owner = yield* makeUser({ credits: 1_000 })
      const other = yield* makeUser({ credits: 1_000 })
      const started = (yield* startImport(api, owner.token, { url: search(), maxResults: 300 })).body
      const foreign = yield* cancel(other.token, started.runId)
      const missing = yield* cancel(other.token, "run_doesnotexist0123456789")
      expect(foreign.status).toBe(404)
      expect(foreign.body).toEqual(missing.body)
      expect(foreign.body).toMatchObject({ success: false, code: "IMPORT_NOT_FOUND" })
      expect(((yield* status(owner.token, started.runId)).body as ImportStatusBody).cancelRequested).toBe(false)
      yield* cancel(owner.token, started.runId)
    }))

  it.effect("no token: 401; a malformed run id: 400", () =>
    Effect.gen(function*() {
      expect((yield* cancel(undefined, "run_doesnotexist0123456789")).status).toBe(401)
      const user = yield* makeUser()
      const bad = yield* cancel(user.token, "not-a-run")
      expect(bad.status).toBe(400)
      expect(bad.body).toMatchObject({ success: false, code: "VALIDATION_FAILED" })
    }))
})

layer(TestAppOnTriggerStub(), { excludeTestServices: true })("cancel on Trigger.dev", (it) => {
  it.effect("records the cancel, ends and refunds the import, and cancels the run through the API", () =>
    Effect.gen(function*() {
      const api = yield* client
      const stub = yield* TriggerStub
      const user = yield* makeUser({ credits: 1_000 })
      // Nothing runs the pipeline behind the stub: the import is queued, its run EXECUTING.
      const started = (yield* startImport(api, user.token, { url: search(), maxResults: 200 })).body
      const reply = yield* cancel(user.token, started.runId)
      expect(reply.status).toBe(200)
      yield* expectCanceled(user.token, reply.body)
      expect(reply.body).toMatchObject({ leadsImported: 0, creditsRefunded: 200 })

      // The run is canceled on the platform (asked in the background: wait for it).
      for (let i = 0; i < 100 && stub.runs.get(started.runId)?.status !== "CANCELED"; i++) yield* Effect.sleep("20 millis")
      expect(stub.runs.get(started.runId)?.status).toBe("CANCELED")
      expect(stub.received.filter((r) => r.url === `/api/v2/runs/${started.runId}/cancel`)).toHaveLength(1)
    }))
})
