/**
 * trigger/ on the real Trigger.dev runtime, offline (test/support/trigger-runtime): the CLI's
 * deploy bundle, indexed by the image's indexer, its tasks run in real worker processes
 * (TaskRunProcess, one per attempt as in the cloud) against a stand-in of the platform.
 * The API enqueues sales-nav-import through the real SDK; the parent runs in a worker,
 * triggers and waits for each stage subtask, and the import ends in the list. A transient
 * fetch-page failure is retried by the platform, in a new process, after the delay it asked.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { ConfigProvider, Context, Effect, Exit, Layer } from "effect"
import { ServerLive, ServicesLive } from "../../src/app.ts"
import { Database } from "../../src/db/Database.ts"
import { makeFakeLeadSource } from "../../src/leads/FakeLeadSource.ts"
import type { LeadSourceError } from "../../src/leads/LeadSource.ts"
import { backend, createScratchDatabase } from "../support/db.ts"
import { makeUser } from "../support/fixtures.ts"
import { allRows, awaitImport, expectImportInvariants, type ImportStatusBody, startImport } from "../support/imports.ts"
import { ADMIN_TOKEN, client } from "../support/server.ts"
import { buildBundle, type Run, startTriggerRuntime, type TriggerRuntime } from "../support/trigger-runtime/index.ts"

const STAGES = ["fetch-page", "dedupe", "persist-batch", "refund-unused-credits"]
const SEED = "runtime-e2e"

const search = (name: string, extra = "") =>
  `https://www.linkedin.com/sales/search/people?query=(keywords%3A${name}-${crypto.randomUUID().slice(0, 8)})${extra}`

describe("the deploy bundle", () => {
  // Needs no database: registered on both passes.
  it("is built by the trigger.dev CLI and indexed with all five tasks, their retry and their queues", async () => {
    const bundle = await buildBundle()
    const tasks = new Map(bundle.manifest.tasks.map((t) => [t.id, t]))
    expect([...tasks.keys()].sort()).toEqual(["dedupe", "fetch-page", "persist-batch", "refund-unused-credits", "sales-nav-import"])
    for (const stage of STAGES) {
      expect(tasks.get(stage)?.retry).toEqual({ maxAttempts: 8, factor: 2, minTimeoutInMs: 250, maxTimeoutInMs: 15_000, randomize: true })
    }
    expect(tasks.get("sales-nav-import")).toMatchObject({
      maxDuration: 6 * 3600,
      queue: { name: "sales-nav-import", concurrencyLimit: 1 },
      retry: { maxAttempts: 3, factor: 2, minTimeoutInMs: 1_000, maxTimeoutInMs: 30_000, randomize: true }
    })
    expect(tasks.get("fetch-page")?.queue).toEqual({ name: "linkedin-account", concurrencyLimit: 1 })
    expect(bundle.manifest.runtime).toBe("node-24")
  }, 180_000)
})

/**
 * Users whose imports meet a transient fault on every fetch-page's first attempt
 * (FAKE_TRANSIENT_ERROR_RATE=1 for that attempt only; the parent run carries the user's tag).
 */
const flakyUsers = new Set<string>()

const workerEnvFor = (databaseUrl: string, runtime: () => TriggerRuntime) => (run: Readonly<Run>, attempt: number): Record<string, string> => {
  const tags = runtime().run(run.rootId ?? run.id)?.tags ?? []
  const flaky = run.taskId === "fetch-page" && attempt === 1 && [...flakyUsers].some((user) => tags.includes(`user:${user}`))
  return { DATABASE_URL: databaseUrl, FAKE_PAGE_LATENCY_MS: "0", FAKE_SEED: SEED, ...(flaky ? { FAKE_TRANSIENT_ERROR_RATE: "1" } : {}) }
}

class Runtime extends Context.Service<Runtime, TriggerRuntime>()("test/TriggerRuntime") {}

/**
 * The service with TASK_ENGINE=trigger over a scratch PostgreSQL database, and the runtime
 * whose workers use the same database (separate processes: they need a real server).
 */
const RuntimeApp = Layer.unwrap(Effect.gen(function*() {
  const scratch = yield* Effect.acquireRelease(Effect.promise(createScratchDatabase), (s) => Effect.promise(s.drop))
  const bundle = yield* Effect.promise(() => buildBundle())
  // retry delays (up to 2 s asked by the fake's 429s) are waited at a tenth; they are recorded as asked.
  let started: TriggerRuntime | undefined
  const runtime = yield* Effect.acquireRelease(
    Effect.promise(async () => (started = await startTriggerRuntime({ bundle, env: workerEnvFor(scratch.url, () => started!), timeScale: 0.1 }))),
    (r) => Effect.promise(() => r.close())
  )
  const config = {
    ADMIN_TOKEN,
    FAKE_PAGE_LATENCY_MS: "0",
    TASK_ENGINE: "trigger",
    TRIGGER_API_URL: runtime.url,
    TRIGGER_SECRET_KEY: runtime.secretKey
  }
  return ServerLive(0, { logRequests: false }).pipe(
    Layer.provideMerge(ServicesLive),
    Layer.provideMerge(Database.layerPostgres(scratch.url)),
    Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(config))),
    Layer.provideMerge(Layer.succeed(Runtime, runtime))
  )
}))

/** Starts an import over HTTP and waits for its parent run and the import to end. */
const importThroughTheApi = (url: string, maxResults: number, options: { readonly flaky?: boolean } = {}) =>
  Effect.gen(function*() {
    const api = yield* client
    const runtime = yield* Runtime
    const user = yield* makeUser({ credits: 1000 })
    if (options.flaky === true) flakyUsers.add(user.userId)
    const reply = yield* startImport(api, user.token, { url, maxResults })
    expect(reply.status, JSON.stringify(reply.body)).toBe(200)
    const { runId, listId } = reply.body as { runId: string; listId: string }
    yield* Effect.promise(() => runtime.waitForRun(runId, { timeoutMs: 60_000 }))
    const { status } = yield* awaitImport(api, user.token, runId, listId, 10_000)
    yield* expectImportInvariants(status)
    const rows = yield* allRows(api, user.token, listId)
    const children = runtime.runs().filter((r) => r.parentId === runId)
    return { parent: runtime.run(runId)!, children, status, rows, userId: user.userId }
  })

const expectStagesInOrder = (children: ReadonlyArray<Readonly<Run>>, importId: string, runId: string, pages: number, status: ImportStatusBody) => {
  expect(children.map(({ taskId, payload }) => ({ taskId, payload }))).toEqual([
    ...Array.from({ length: pages }, (_, i) => i + 1).flatMap((page) => [
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
  layer(RuntimeApp, { excludeTestServices: true, timeout: "180 seconds" })("trigger/ on the real runtime", (it) => {
    it.effect("an import through the API: the parent and each stage subtask run in their own worker processes", () =>
      Effect.gen(function*() {
        const url = search("runtime", "&fakeCount=30")
        const { parent, children, status, rows } = yield* importThroughTheApi(url, 100)

        expect(status).toMatchObject({ status: "completed", completionReason: "search_exhausted", leadsImported: 30, creditsRefunded: 70 })
        expect(rows.length).toBe(30)
        expect(parent).toMatchObject({ taskId: "sales-nav-import", status: "COMPLETED", queue: "sales-nav-import", parentId: undefined })
        expect(parent.attempts.length).toBe(1)
        const importId = (parent.payload as { importId: string }).importId
        expect(parent.tags).toEqual(expect.arrayContaining([`import:${importId}`]))

        expectStagesInOrder(children, importId, parent.id, status.pagesFetched, status)
        expect(status.pagesFetched).toBe(2)
        for (const child of children) {
          expect(child).toMatchObject({ status: "COMPLETED", rootId: parent.id, options: { resumeParentOnCompletion: true, parentRunId: parent.id } })
          expect(child.attempts.length).toBe(1)
          expect(child.options.idempotencyKey).toMatch(/^[0-9a-f]{64}$/)
        }
        expect(children.filter((c) => c.taskId === "fetch-page").every((c) => c.queue === "linkedin-account")).toBe(true)
        // A fresh process per attempt (no processKeepAlive in trigger.config.ts).
        const pids = [parent, ...children].map((r) => r.attempts[0]!.pid)
        expect(new Set(pids).size).toBe(pids.length)
      }))

    it.effect("a transient fetch-page failure is retried by the platform, in a new process, after the delay it asked for", () =>
      Effect.gen(function*() {
        // Under FAKE_SEED, page 1 of this search meets a 429 asking 1 s (more than any backoff before
        // attempt 2), page 2 a 503 without Retry-After.
        const url = "https://www.linkedin.com/sales/search/people?query=(keywords%3Aretry-after)&fakeCount=30"
        const faults = yield* Effect.promise(() => Promise.all([firstFault(url, 1), firstFault(url, 2)]))
        expect(faults.map((f) => [f?.code, f?.retryAfterMs])).toEqual([["rate_limited", 1000], ["upstream_unavailable", undefined]])
        const { parent, children, status, rows } = yield* importThroughTheApi(url, 100, { flaky: true })

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
  })
}
