/**
 * trigger/ on the real Trigger.dev runtime, offline (test/support/trigger-runtime): the CLI's
 * deploy bundle, indexed by the image's indexer, its tasks run in real worker processes
 * (TaskRunProcess, as in the cloud, kept alive per trigger.config.ts) against a stand-in of the
 * platform. The service enqueues through the real SDK and its reconciler asks the stand-in
 * for run statuses, as it asks Trigger.dev.
 *
 * Covered: an import end to end (POST -> parent -> children -> rows, tags and progress on the
 * dashboard); transient child failures retried per child with Retry-After honoured; a
 * permanent child failure refunding exactly once; a dashboard Replay of a page of an ended
 * import doing nothing; cancel through the API; a parent canceled from the dashboard or
 * crashed, ended by the reconciler; workers without DATABASE_URL or LEAD_SOURCE failing loud.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { ConfigProvider, Context, Effect, Exit, Layer } from "effect"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { sql } from "kysely"
import { ServerLive, ServicesLive } from "../../src/app.ts"
import { Database } from "../../src/db/Database.ts"
import { makeFakeLeadSource } from "../../src/leads/FakeLeadSource.ts"
import type { LeadSourceError } from "../../src/leads/LeadSource.ts"
import { STAGE_MAX_DURATION_SECONDS } from "../../trigger/retry.ts"
import { backend, createScratchDatabase } from "../support/db.ts"
import { makeUser } from "../support/fixtures.ts"
import { allRows, awaitImport, expectImportInvariants, type ImportStatusBody, startImport } from "../support/imports.ts"
import { ADMIN_TOKEN, call, client } from "../support/server.ts"
import { buildBundle, type Run, startTriggerRuntime, type TriggerRuntime } from "../support/trigger-runtime/index.ts"

const STAGES = ["fetch-page", "dedupe", "persist-batch", "refund-unused-credits"]
const SEED = "runtime-e2e"

const search = (name: string, extra = "") =>
  `https://www.linkedin.com/sales/search/people?query=(keywords%3A${name}-${crypto.randomUUID().slice(0, 8)})${extra}`

describe("the deploy bundle", () => {
  // Needs no database: registered on both passes.
  it("is built by the trigger.dev CLI and indexed with all five tasks, their retry, limits and keep-alive", async () => {
    const bundle = await buildBundle()
    const tasks = new Map(bundle.manifest.tasks.map((t) => [t.id, t as typeof t & { concurrency?: unknown }]))
    expect([...tasks.keys()].sort()).toEqual(["dedupe", "fetch-page", "persist-batch", "refund-unused-credits", "sales-nav-import"])
    for (const stage of STAGES) {
      expect(tasks.get(stage)?.retry).toEqual({ maxAttempts: 8, factor: 2, minTimeoutInMs: 250, maxTimeoutInMs: 15_000, randomize: true })
    }
    expect(tasks.get("fetch-page")).toMatchObject({ maxDuration: STAGE_MAX_DURATION_SECONDS.fetchPage, concurrency: { inline: { perKey: 1 } } })
    expect(tasks.get("dedupe")?.maxDuration).toBe(STAGE_MAX_DURATION_SECONDS.dedupe)
    expect(tasks.get("persist-batch")?.maxDuration).toBe(STAGE_MAX_DURATION_SECONDS.persistBatch)
    expect(tasks.get("refund-unused-credits")?.maxDuration).toBe(STAGE_MAX_DURATION_SECONDS.refund)
    // The parent claims no per-account limit: a parent waiting on a child frees its slot anyway.
    expect(tasks.get("sales-nav-import")).toMatchObject({
      maxDuration: 6 * 3600,
      retry: { maxAttempts: 3, factor: 2, minTimeoutInMs: 1_000, maxTimeoutInMs: 30_000, randomize: true }
    })
    expect(tasks.get("sales-nav-import")?.concurrency).toBeUndefined()
    expect((bundle.manifest as { processKeepAlive?: unknown }).processKeepAlive).toEqual({ enabled: true, maxExecutionsPerProcess: 100 })
    expect(bundle.manifest.runtime).toBe("node-24")
  }, 180_000)

  it("carries the stages and nothing of the HTTP service", async () => {
    const bundle = await buildBundle()
    const code = readdirSync(bundle.dir, { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".mjs") && !f.includes("node_modules"))
      .map((f) => readFileSync(join(bundle.dir, f), "utf8"))
      .join("\n")
    expect(code).toContain("persist:") // the persist stage's lock
    for (const httpOnly of ["/api/lists/import-sales-nav", "HttpApiScalar", "IMPORT_NOT_FOUND"]) expect(code).not.toContain(httpOnly)
  }, 180_000)
})

class Runtime extends Context.Service<Runtime, TriggerRuntime>()("test/TriggerRuntime") {}

/** The reconciler as a test wants it: every 200 ms, for imports quiet 300 ms. */
const RECONCILER = { RECONCILE_INTERVAL_MS: "200", RECONCILE_QUIET_MS: "300", RECONCILE_OUTBOX_GRACE_MS: "1000" }

/**
 * The service with TASK_ENGINE=trigger over a scratch PostgreSQL database, and the runtime whose
 * workers get `env` (the DATABASE_URL and LEAD_SOURCE a deployment sets, or not).
 */
const runtimeApp = (options: {
  readonly env: (databaseUrl: string, run: Readonly<Run>, attempt: number, runtime: TriggerRuntime) => Record<string, string>
  readonly processKeepAlive?: boolean
}) =>
  Layer.unwrap(Effect.gen(function*() {
    const scratch = yield* Effect.acquireRelease(Effect.promise(createScratchDatabase), (s) => Effect.promise(s.drop))
    const bundle = yield* Effect.promise(() => buildBundle())
    let started: TriggerRuntime | undefined
    const runtime = yield* Effect.acquireRelease(
      Effect.promise(async () =>
        (started = await startTriggerRuntime({
          bundle,
          env: (run, attempt) => options.env(scratch.url, run, attempt, started!),
          // Retry delays are waited at a tenth; they are recorded as asked.
          timeScale: 0.1,
          ...(options.processKeepAlive !== undefined ? { processKeepAlive: options.processKeepAlive } : {})
        }))
      ),
      (r) => Effect.promise(() => r.close())
    )
    const config = {
      ADMIN_TOKEN,
      TASK_ENGINE: "trigger",
      TRIGGER_API_URL: runtime.url,
      TRIGGER_SECRET_KEY: runtime.secretKey,
      ...RECONCILER
    }
    return ServerLive(0, { logRequests: false }).pipe(
      Layer.provideMerge(ServicesLive),
      Layer.provideMerge(Database.layerPostgres(scratch.url)),
      Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(config))),
      Layer.provideMerge(Layer.succeed(Runtime, runtime))
    )
  }))

/** A deployment configured as the README says: the service's database, the (fake) lead source named explicitly. */
const configured = (databaseUrl: string) => ({ DATABASE_URL: databaseUrl, LEAD_SOURCE: "fake", FAKE_PAGE_LATENCY_MS: "0", FAKE_SEED: SEED })

/** Starts an import over HTTP; returns what the test needs to follow it. */
const startThroughTheApi = (url: string, maxResults: number) =>
  Effect.gen(function*() {
    const api = yield* client
    const user = yield* makeUser({ credits: 1000 })
    const reply = yield* startImport(api, user.token, { url, maxResults })
    expect(reply.status, JSON.stringify(reply.body)).toBe(200)
    const { runId, listId } = reply.body as { runId: string; listId: string }
    return { token: user.token, userId: user.userId, runId, listId }
  })

/** Waits for the parent run and the import to end; returns the runs, the status and the rows. */
const finished = (started: Effect.Success<ReturnType<typeof startThroughTheApi>>) =>
  Effect.gen(function*() {
    const api = yield* client
    const runtime = yield* Runtime
    yield* Effect.promise(() => runtime.waitForRun(started.runId, { timeoutMs: 60_000 }))
    const { status } = yield* awaitImport(api, started.token, started.runId, started.listId, 20_000)
    yield* expectImportInvariants(status)
    const rows = yield* allRows(api, started.token, started.listId)
    return { parent: runtime.run(started.runId)!, children: childrenOf(runtime, started.runId), status, rows }
  })

const childrenOf = (runtime: TriggerRuntime, parentId: string) => runtime.runs().filter((r) => r.parentId === parentId)

const importIdOf = (run: Readonly<Run>) => (run.payload as { importId: string }).importId

/** The import's events by type. */
const eventCounts = (importId: string) =>
  Effect.flatMap(Database, (db) =>
    db.query((q) =>
      sql<{ type: string; n: number }>`select type, count(*)::int as n from events where correlation_id = ${importId} group by type`
        .execute(q)
    )).pipe(Effect.map((r) => Object.fromEntries(r.rows.map((row) => [row.type, row.n]))), Effect.orDie)

const statusOf = (token: string, runId: string) =>
  Effect.flatMap(client, (api) => call(() => api.request("GET", `/api/imports/${runId}`, { token }))).pipe(
    Effect.map((r) => r.body as ImportStatusBody)
  )

const awaitStatus = (token: string, runId: string, done: (s: ImportStatusBody) => boolean, timeoutMs = 20_000) =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    while (true) {
      const s = yield* statusOf(token, runId)
      if (done(s)) return s
      if (Date.now() > deadline) throw new Error(`import ${runId}: ${JSON.stringify(s)}`)
      yield* Effect.sleep("50 millis")
    }
  })

const expectStagesInOrder = (children: ReadonlyArray<Readonly<Run>>, importId: string, runId: string, status: ImportStatusBody) => {
  expect(children.map(({ taskId, payload }) => ({ taskId, payload }))).toEqual([
    ...Array.from({ length: status.pagesFetched }, (_, i) => i + 1).flatMap((page) => [
      { taskId: "fetch-page", payload: { importId, page } },
      { taskId: "dedupe", payload: { importId, page } },
      { taskId: "persist-batch", payload: { importId, page, runId } }
    ]),
    { taskId: "refund-unused-credits", payload: { importId, because: { outcome: "completed", reason: status.completionReason } } }
  ])
}

/** The fault the fake injects on the first call for `page` of `url` (what a fresh worker meets). */
const firstFault = (url: string, page: number) =>
  Effect.runPromiseExit(
    makeFakeLeadSource({ transientErrorRate: 1, seed: SEED }).fetchPage({ accountId: "a", providerAccountId: null, url, page, cursor: null })
  ).then((exit) => (Exit.isFailure(exit) ? (exit.cause.reasons.find((r) => r._tag === "Fail") as { error: LeadSourceError }).error : undefined))

// The workers are separate processes: they cannot reach the in-process PGlite of the other pass,
// so the runs need DATABASE_URL (PostgreSQL) and are registered on that pass only.
if (backend === "postgres") {
  layer(runtimeApp({ env: configured }), { excludeTestServices: true, timeout: "180 seconds" })("trigger/ on the real runtime", (it) => {
    it.effect("an import through the API: parent and stage subtasks in kept-alive workers, tagged, progress in the parent's metadata", () =>
      Effect.gen(function*() {
        const runtime = yield* Runtime
        const { parent, children, status, rows } = yield* finished(yield* startThroughTheApi(search("runtime", "&fakeCount=30"), 100))

        expect(status).toMatchObject({ status: "completed", completionReason: "search_exhausted", leadsImported: 30, creditsRefunded: 70 })
        expect(rows.length).toBe(30)
        expect(parent).toMatchObject({ taskId: "sales-nav-import", status: "COMPLETED", parentId: undefined })
        const importId = importIdOf(parent)
        expect(parent.tags).toEqual(expect.arrayContaining([`import:${importId}`]))
        expectStagesInOrder(children, importId, parent.id, status)
        expect(status.pagesFetched).toBe(2)
        for (const child of children) {
          expect(child).toMatchObject({ status: "COMPLETED", rootId: parent.id, options: { resumeParentOnCompletion: true, parentRunId: parent.id } })
          expect(child.attempts.length).toBe(1)
          const page = (child.payload as { page?: number }).page
          // An operator finds every run of an import, and of one page, with the tag filter.
          expect(child.tags).toEqual(page === undefined ? [`import:${importId}`] : [`import:${importId}`, `page:${page}`])
        }
        // fetch-page runs one at a time per LinkedIn account: its concurrency key is the account.
        const accountTag = parent.tags.find((t) => t.startsWith("account:"))!
        expect(children.filter((c) => c.taskId === "fetch-page").every((c) => c.concurrencyKey === accountTag.slice("account:".length))).toBe(true)
        // The dashboard shows the import's progress on the parent.
        expect(parent.metadata.progress).toMatchObject({ page: 2, leadsImported: 30, maxResults: 100, outcome: "completed" })
        // Kept-alive processes: the short child runs reuse workers instead of starting one each.
        const attempts = [parent, ...children].map((r) => r.attempts[0]!)
        expect(new Set(attempts.map((a) => a.pid)).size).toBeLessThan(attempts.length)
        expect(attempts.some((a) => a.warmStart)).toBe(true)
        expect(runtime.keepAlive.enabled).toBe(true)
      }))

    it.effect("a permanent child failure ends the import failed, refunded exactly once; a Replay of its pages does nothing", () =>
      Effect.gen(function*() {
        const runtime = yield* Runtime
        // Page 2 fails for good (the account is restricted): no retry, the import ends after page 1.
        const started = yield* startThroughTheApi(search("restricted", "&fakeCount=100&fakeRestrictedAfter=1"), 100)
        const { parent, children, status } = yield* finished(started)
        expect(status).toMatchObject({ status: "failed", leadsImported: 25, creditsCharged: 25, creditsRefunded: 75 })
        expect(status.error).toMatch(/account_restricted/)
        const failedFetch = children.find((c) => c.taskId === "fetch-page" && (c.payload as { page: number }).page === 2)!
        expect(failedFetch).toMatchObject({ status: "FAILED" })
        expect(failedFetch.attempts.length).toBe(1)
        const importId = importIdOf(parent)
        const before = yield* eventCounts(importId)
        expect(before).toMatchObject({ CreditsRefunded: 1, ImportFailed: 1, CreditsCharged: 1 })

        // The dashboard's Replay: new runs, attached to no parent, on an import that has ended.
        const persist = children.find((c) => c.taskId === "persist-batch")!
        for (const original of [failedFetch, persist]) {
          const replayId = yield* Effect.promise(() => runtime.replay(original.id))
          const replay = yield* Effect.promise(() => runtime.waitForRun(replayId, { timeoutMs: 30_000 }))
          expect(replay).toMatchObject({ status: "COMPLETED", parentId: undefined, output: { _tag: "Halted", reason: "ended" } })
          expect(replay.attempts.length).toBe(1)
        }
        expect(yield* eventCounts(importId)).toEqual(before)
      }))

    it.effect("cancel through the API: the run and the child in flight are canceled, the rows stay, the rest is refunded once", () =>
      Effect.gen(function*() {
        const api = yield* client
        const runtime = yield* Runtime
        const started = yield* startThroughTheApi(search("cancel", "&fakeCount=500&fakeLatencyMs=300"), 500)
        yield* awaitStatus(started.token, started.runId, (s) => s.leadsImported >= 25)
        const reply = yield* call(() => api.request("POST", `/api/imports/${started.runId}/cancel`, { token: started.token }))
        expect(reply.status).toBe(200)
        const canceled = reply.body as ImportStatusBody
        expect(canceled).toMatchObject({ status: "canceled", cancelRequested: true, completionReason: "canceled" })
        yield* expectImportInvariants(canceled)

        const parent = yield* Effect.promise(() => runtime.waitForRun(started.runId, { timeoutMs: 20_000 }))
        expect(parent.status).toBe("CANCELED")
        expect(childrenOf(runtime, started.runId).every((c) => c.status !== "EXECUTING" && c.status !== "QUEUED")).toBe(true)
        yield* Effect.sleep("1 second")
        expect((yield* allRows(api, started.token, started.listId)).length).toBe(canceled.leadsImported)
        expect(yield* eventCounts(importIdOf(parent))).toMatchObject({ CreditsRefunded: 1, ImportCanceled: 1, ImportCancelRequested: 1 })
      }))

    it.effect("a parent canceled from the dashboard: the reconciler ends the import canceled and refunds it once", () =>
      Effect.gen(function*() {
        const runtime = yield* Runtime
        const started = yield* startThroughTheApi(search("dashboard", "&fakeCount=500&fakeLatencyMs=300"), 400)
        yield* awaitStatus(started.token, started.runId, (s) => s.leadsImported >= 25)
        yield* Effect.promise(() => runtime.cancel(started.runId))
        const after = yield* awaitStatus(started.token, started.runId, (s) => s.status !== "running")
        expect(after).toMatchObject({ status: "canceled", completionReason: "canceled" })
        yield* expectImportInvariants(after)
        expect(yield* eventCounts(importIdOf(runtime.run(started.runId)!))).toMatchObject({ CreditsRefunded: 1, ImportCanceled: 1 })
      }))

    it.effect("a parent that crashes (killed, out of memory): the reconciler ends the import failed and refunds it once", () =>
      Effect.gen(function*() {
        const runtime = yield* Runtime
        const started = yield* startThroughTheApi(search("crash", "&fakeCount=500&fakeLatencyMs=300"), 400)
        yield* awaitStatus(started.token, started.runId, (s) => s.leadsImported >= 25)
        yield* Effect.promise(() => runtime.crash(started.runId))
        const after = yield* awaitStatus(started.token, started.runId, (s) => s.status !== "running")
        expect(after.status).toBe("failed")
        expect(after.error).toMatch(/CRASHED/)
        // A child already running may still land its page: the refund comes after it, under the import's lock.
        yield* Effect.sleep("1 second")
        const settled = yield* statusOf(started.token, started.runId)
        yield* expectImportInvariants(settled)
        expect(yield* eventCounts(importIdOf(runtime.run(started.runId)!))).toMatchObject({ CreditsRefunded: 1, ImportFailed: 1 })
      }))
  })

  /**
   * Users whose imports meet a transient fault on every fetch-page's first attempt
   * (FAKE_TRANSIENT_ERROR_RATE=1 for that attempt only; the parent run carries the user's tag).
   * A fresh process per attempt here: a kept-alive worker keeps the environment of its first run.
   */
  const flakyEnv = (databaseUrl: string, run: Readonly<Run>, attempt: number, runtime: TriggerRuntime) => ({
    ...configured(databaseUrl),
    ...(run.taskId === "fetch-page" && attempt === 1 && runtime.run(run.rootId ?? run.id) !== undefined
      ? { FAKE_TRANSIENT_ERROR_RATE: "1" }
      : {})
  })

  layer(runtimeApp({ env: flakyEnv, processKeepAlive: false }), { excludeTestServices: true, timeout: "180 seconds" })(
    "trigger/ on the real runtime, transient failures",
    (it) => {
      it.effect("a transient fetch-page failure is retried by the platform, in a new process, after the delay it asked for", () =>
        Effect.gen(function*() {
          // Under FAKE_SEED, page 1 of this search meets a 429 asking 1 s (more than any backoff before
          // attempt 2), page 2 a 503 without Retry-After.
          const url = "https://www.linkedin.com/sales/search/people?query=(keywords%3Aretry-after)&fakeCount=30"
          const faults = yield* Effect.promise(() => Promise.all([firstFault(url, 1), firstFault(url, 2)]))
          expect(faults.map((f) => [f?.code, f?.retryAfterMs])).toEqual([["rate_limited", 1000], ["upstream_unavailable", undefined]])
          const { parent, children, status, rows } = yield* finished(yield* startThroughTheApi(url, 100))

          expect(status).toMatchObject({ status: "completed", leadsImported: 30, creditsRefunded: 70 })
          expect(rows.length).toBe(30)
          expect(parent.attempts.length).toBe(1)
          const fetches = children.filter((c) => c.taskId === "fetch-page")
          expect(fetches.length).toBe(2)
          for (const fetch of fetches) {
            const fault = faults[(fetch.payload as { page: number }).page - 1]!
            expect(fetch.status).toBe("COMPLETED")
            const [first, second] = fetch.attempts
            expect(fetch.attempts.length).toBe(2)
            expect(first!.result).toMatchObject({ ok: false, error: { name: "TransientStageError", message: expect.stringContaining(fault.code) } })
            expect(second!.result?.ok).toBe(true)
            expect(second!.pid).not.toBe(first!.pid)
            // Retry-After honoured (catchError's retryAt), else the task's backoff: 250 ms x 1..2 before attempt 2.
            const asked = first!.requestedRetryDelayMs!
            if (fault.retryAfterMs !== undefined) expect(asked).toBeGreaterThanOrEqual(fault.retryAfterMs - 50)
            else expect(asked).toBeGreaterThanOrEqual(200)
            expect(asked).toBeLessThanOrEqual(Math.max(fault.retryAfterMs ?? 0, 500))
          }
          // Every other stage ran once.
          expect(children.filter((c) => c.taskId !== "fetch-page").every((c) => c.attempts.length === 1)).toBe(true)
        }))
    }
  )

  for (const [missing, env] of [
    ["DATABASE_URL", (_url: string) => ({ LEAD_SOURCE: "fake" })],
    ["LEAD_SOURCE", (url: string) => ({ DATABASE_URL: url })]
  ] as const) {
    layer(runtimeApp({ env: (url) => env(url) }), { excludeTestServices: true, timeout: "180 seconds" })(
      `trigger/ on the real runtime, workers without ${missing}`,
      (it) => {
        it.effect(`fail loud: the parent aborts without retries naming ${missing}; the reconciler ends the import and refunds it`, () =>
          Effect.gen(function*() {
            const runtime = yield* Runtime
            const started = yield* startThroughTheApi(search("misconfigured", "&fakeCount=30"), 50)
            const parent = yield* Effect.promise(() => runtime.waitForRun(started.runId, { timeoutMs: 30_000 }))
            expect(parent.status).toBe("FAILED")
            expect(parent.attempts.length).toBe(1)
            expect(JSON.stringify(parent.completion)).toContain(`${missing} is not set for this Trigger.dev task`)
            // The worker could not even record the failure: the service's reconciler does.
            const after = yield* awaitStatus(started.token, started.runId, (s) => s.status !== "queued")
            expect(after).toMatchObject({ status: "failed", leadsImported: 0, creditsRefunded: 50 })
            expect(after.error).toMatch(/FAILED/)
            expect(childrenOf(runtime, started.runId)).toEqual([])
          }))
      }
    )
  }
}
