/**
 * The trigger/ tasks run in-process on the real SDK (test/support/trigger-harness.ts):
 * the API enqueues sales-nav-import, the parent's body triggers and waits for each stage
 * as a subtask, and the import ends exactly as the same import run by the local engine —
 * same rows, same events. A child that fails for good ends the import failed and
 * refunded; a parent run again after the end changes nothing.
 */
import { expect, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { createHash } from "node:crypto"
import type { ImportOutcome } from "../../events/index.ts"
import { ServicesLive } from "../../src/app.ts"
import { Database } from "../../src/db/Database.ts"
import { Imports } from "../../src/imports/Imports.ts"
import { RUN_ID_PATTERN } from "../../src/imports/TaskQueue.ts"
import { ImportStages } from "../../src/pipeline/ImportStages.ts"
import { localStageRunner } from "../../src/pipeline/LocalEngine.ts"
import { runImport } from "../../src/pipeline/runImport.ts"
import { useTaskRuntime } from "../../trigger/runtime.ts"
import { TestDatabase } from "../support/db.ts"
import { makeUser, PEOPLE_SEARCH } from "../support/fixtures.ts"
import { taskRuntimeOver, TriggerHarness } from "../support/trigger-harness.ts"

/** The services over a test database, enqueueing on Trigger.dev = the harness's API stub. */
const TestLayer = Layer.unwrap(Effect.gen(function*() {
  const harness = yield* TriggerHarness.make
  const env = { TASK_ENGINE: "trigger", TRIGGER_SECRET_KEY: "tr_dev_harness", TRIGGER_API_URL: harness.url, FAKE_PAGE_LATENCY_MS: "0" }
  return ServicesLive.pipe(
    Layer.provideMerge(TestDatabase()),
    Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(env))),
    Layer.provideMerge(Layer.succeed(TriggerHarness, harness))
  )
}))

/** The task runtime over the test's database (lead source configured by `env`), installed for the tasks. */
const taskRuntime = (env: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const db = yield* Database
    const runtime = yield* Effect.acquireRelease(Effect.sync(() => taskRuntimeOver(db, env)), (r) => Effect.promise(() => r.dispose()))
    useTaskRuntime(runtime)
    return runtime
  })

/** A new user's import of `url`, accepted and enqueued as the API does. */
const startImport = (url: string, maxResults: number) =>
  Effect.gen(function*() {
    const user = yield* makeUser()
    const imports = yield* Imports
    const started = yield* imports.start(user.userId, { url, maxResults, listName: "Harness", skipExistingCustomers: true }).pipe(Effect.orDie)
    const db = yield* Database
    const { account_id } = yield* db.query((q) =>
      q.selectFrom("outbox").select("account_id").where("import_id", "=", started.importId).executeTakeFirstOrThrow()
    ).pipe(Effect.orDie)
    return { ...started, accountId: account_id }
  })

/** Runs the parent run the API triggered (attempt > 1: a retry of it), children in-process. */
const runParent = (runId: string, attempt = 1) =>
  Effect.flatMap(TriggerHarness, (harness) => Effect.promise(() => harness.execute(runId, attempt)))

/** The same import run by the local engine's runner, on the same stages. */
const runLocally = (runtime: ReturnType<typeof taskRuntimeOver>, importId: string, runId: string) =>
  Effect.promise(() => runtime.runPromise(Effect.flatMap(ImportStages, (stages) => runImport(importId, runId, () => localStageRunner(stages)))))

const ID_FIELDS = new Set(["importId", "userId", "listId", "accountId", "runId", "rowId"])
const maskIds = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(maskIds)
    : typeof value === "object" && value !== null
    ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, ID_FIELDS.has(k) ? "<id>" : maskIds(v)]))
    : value

/** What an import left behind: its read model, its events (ids masked) and its list's rows in order. */
const outcomeOf = (importId: string, listId: string) =>
  Effect.gen(function*() {
    const db = yield* Database
    return yield* db.query(async (q) => ({
      row: await q.selectFrom("imports").selectAll().where("import_id", "=", importId).executeTakeFirstOrThrow(),
      events: (await q.selectFrom("events").select(["type", "data"]).where("correlation_id", "=", importId)
        .orderBy("transaction_id").orderBy("position").execute()).map((e) => ({ type: e.type, data: maskIds(e.data) })),
      runIds: (await q.selectFrom("events").select("data").where("correlation_id", "=", importId)
        .where("type", "in", ["ImportStarted", "BatchPersisted"]).execute()).map((e) => (e.data as { runId: string }).runId),
      rows: await q.selectFrom("list_rows").select(["linkedin_url", "sales_nav_url", "profile"]).where("list_id", "=", listId)
        .orderBy("seq").execute()
    })).pipe(Effect.orDie)
  })

const count = (events: ReadonlyArray<{ readonly type: string }>, type: string) => events.filter((e) => e.type === type).length

/** The subtasks `parentRunId` triggered, in order. */
const childrenOf = (parentRunId: string) =>
  Effect.flatMap(TriggerHarness, (harness) => Effect.promise(() => harness.triggers())).pipe(
    Effect.map((triggers) => triggers.filter((t) => t.options.parentRunId === parentRunId))
  )
const triggerCount = Effect.flatMap(TriggerHarness, (harness) => Effect.promise(() => harness.triggers())).pipe(
  Effect.map((triggers) => triggers.length)
)

/** The subtasks of pages 1..pages: fetch-page, dedupe, persist-batch each. */
const pageCalls = (importId: string, runId: string, pages: number) =>
  Array.from({ length: pages }, (_, i) => i + 1).flatMap((page) => [
    { taskId: "fetch-page", payload: { importId, page } },
    { taskId: "dedupe", payload: { importId, page } },
    { taskId: "persist-batch", payload: { importId, page, runId } }
  ])
const refundCall = (importId: string, because: ImportOutcome) => ({ taskId: "refund-unused-credits", payload: { importId, because } })

/**
 * Every trigger carries a run-scoped idempotency key (sha256 of the key parts and the parent's
 * run id, all distinct), a small payload and the dashboard tags of its import (and page); only
 * fetch-page has the account as concurrency key (its task allows one run per key).
 */
const expectTriggerOptions = (
  children: ReadonlyArray<{ readonly taskId: string; readonly payload: unknown; readonly options: Record<string, any> }>,
  parentRunId: string,
  accountId: string
) => {
  for (const { taskId, payload, options } of children) {
    const { importId, page } = payload as { importId: string; page?: number }
    const key = [taskId, importId, ...(page === undefined ? [] : [String(page)])].join("-")
    expect(options.idempotencyKeyOptions).toEqual({ key, scope: "run" })
    expect(options.idempotencyKey).toBe(createHash("sha256").update(`${key}-${parentRunId}`).digest("hex"))
    expect(options.concurrencyKey).toBe(taskId === "fetch-page" ? accountId : undefined)
    expect(options.tags).toEqual(page === undefined ? [`import:${importId}`] : [`import:${importId}`, `page:${page}`])
    expect(options.payloadSize).toBeLessThan(256)
  }
  expect(new Set(children.map((c) => c.options.idempotencyKey)).size).toBe(children.length)
}

/** The invariants of an ended import, from its read model and events. */
const expectSettled = (outcome: Effect.Success<ReturnType<typeof outcomeOf>>, status: "completed" | "failed") => {
  const { row, events, rows } = outcome
  expect(row.status).toBe(status)
  expect(rows.length).toBe(row.leads_imported)
  expect(row.credits_charged).toBe(row.leads_imported)
  expect(row.credits_refunded).toBe(row.credits_reserved - row.credits_charged)
  expect(count(events, "CreditsRefunded")).toBe(1)
  expect(count(events, "ImportCompleted")).toBe(status === "completed" ? 1 : 0)
  expect(count(events, "ImportFailed")).toBe(status === "failed" ? 1 : 0)
}

layer(TestLayer, { excludeTestServices: true })("trigger/ tasks on the real SDK, in-process", (it) => {
  const completesLikeTheLocalEngine = (url: string, maxResults: number, expected: { reason: string; rows: number; refunded: number }) =>
    Effect.gen(function*() {
      const runtime = yield* taskRuntime()
      const viaTrigger = yield* startImport(url, maxResults)
      const viaLocal = yield* startImport(url, maxResults)

      expect(viaTrigger.runId).toMatch(RUN_ID_PATTERN)
      const completion = yield* runParent(viaTrigger.runId)
      expect(completion.ok).toBe(true)
      yield* runLocally(runtime, viaLocal.importId, viaLocal.runId)

      const trigger = yield* outcomeOf(viaTrigger.importId, viaTrigger.listId)
      const local = yield* outcomeOf(viaLocal.importId, viaLocal.listId)
      expectSettled(trigger, "completed")
      expect(trigger.row).toMatchObject({ completion_reason: expected.reason, leads_imported: expected.rows, credits_refunded: expected.refunded })
      expect(trigger.runIds.every((id) => id === viaTrigger.runId)).toBe(true)

      // The parent called each stage as a subtask, in order, with ids and page numbers only.
      const children = yield* childrenOf(viaTrigger.runId)
      const pages = trigger.row.pages_fetched
      expect(children.map(({ taskId, payload }) => ({ taskId, payload }))).toEqual([
        ...pageCalls(viaTrigger.importId, viaTrigger.runId, pages),
        refundCall(viaTrigger.importId, { outcome: "completed", reason: expected.reason as "cap_reached" })
      ])
      expect(children.every((c) => c.completion?.ok === true)).toBe(true)
      expectTriggerOptions(children, viaTrigger.runId, viaTrigger.accountId)

      // Same rows, same events as the local engine.
      expect(trigger.rows).toEqual(local.rows)
      expect(trigger.events).toEqual(local.events)
      expect(local.row).toMatchObject({ status: "completed", completion_reason: expected.reason, pages_fetched: pages })
      return { trigger, pages }
    })

  it.effect("maxResults 60 on a large search: the cap is reached mid-page, as with the local engine", () =>
    Effect.gen(function*() {
      const { trigger, pages } = yield* completesLikeTheLocalEngine(PEOPLE_SEARCH, 60, { reason: "cap_reached", rows: 60, refunded: 0 })
      expect(pages).toBe(3)
      expect(trigger.row.over_cap).toBeGreaterThan(0)
    }))

  it.effect("a search of 30 people with maxResults 100: the search is exhausted and 70 are refunded", () =>
    Effect.gen(function*() {
      const { pages } = yield* completesLikeTheLocalEngine(`${PEOPLE_SEARCH}&fakeCount=30`, 100, {
        reason: "search_exhausted",
        rows: 30,
        refunded: 70
      })
      expect(pages).toBe(2)
    }))

  it.effect("a parent run again after it completed (a retry) triggers nothing and records nothing", () =>
    Effect.gen(function*() {
      yield* taskRuntime()
      const started = yield* startImport(`${PEOPLE_SEARCH}&fakeCount=30`, 100)
      expect((yield* runParent(started.runId)).ok).toBe(true)
      const before = yield* outcomeOf(started.importId, started.listId)
      const triggers = yield* triggerCount

      expect((yield* runParent(started.runId, 2)).ok).toBe(true)
      expect(yield* triggerCount).toBe(triggers)
      expect(yield* outcomeOf(started.importId, started.listId)).toEqual(before)
    }))

  it.effect("a child that fails for good: the import is refunded and failed; a retried parent changes nothing", () =>
    Effect.gen(function*() {
      const runtime = yield* taskRuntime({ FAKE_RESTRICTED_AFTER_PAGES: "1" })
      const started = yield* startImport(PEOPLE_SEARCH, 100)

      // The parent itself succeeds: it turned the failed child into a refund and ImportFailed.
      expect((yield* runParent(started.runId)).ok).toBe(true)
      const after = yield* outcomeOf(started.importId, started.listId)
      expectSettled(after, "failed")
      expect(after.row).toMatchObject({ leads_imported: 25, credits_reserved: 100, credits_refunded: 75, pages_fetched: 1 })
      expect(after.row.error).toContain("account_restricted")
      const refund = after.events.find((e) => e.type === "CreditsRefunded")?.data as { because: ImportOutcome } | undefined
      expect(refund?.because).toMatchObject({ outcome: "failed", error: expect.stringContaining("account_restricted") })

      const children = yield* childrenOf(started.runId)
      const error = (refund!.because as { error: string }).error
      expect(children.map(({ taskId, payload }) => ({ taskId, payload }))).toEqual([
        ...pageCalls(started.importId, started.runId, 1),
        { taskId: "fetch-page", payload: { importId: started.importId, page: 2 } },
        refundCall(started.importId, { outcome: "failed", error })
      ])
      const failed = children[3]?.completion
      expect(failed?.ok).toBe(false)
      expect(failed?.ok === false ? failed.error : undefined).toMatchObject({ type: "BUILT_IN_ERROR", name: "AbortTaskRunError" })
      expectTriggerOptions(children, started.runId, started.accountId)

      // The local engine fails the same import through the same events (the error text aside).
      const local = yield* startImport(PEOPLE_SEARCH, 100)
      yield* runLocally(runtime, local.importId, local.runId)
      const localOutcome = yield* outcomeOf(local.importId, local.listId)
      expectSettled(localOutcome, "failed")
      expect(after.events.map((e) => e.type)).toEqual(localOutcome.events.map((e) => e.type))
      expect(after.rows).toEqual(localOutcome.rows)

      // The parent retried (same run, attempt 2): nothing new.
      const triggers = yield* triggerCount
      expect((yield* runParent(started.runId, 2)).ok).toBe(true)
      expect(yield* triggerCount).toBe(triggers)
      expect(yield* outcomeOf(started.importId, started.listId)).toEqual(after)
    }))
})
