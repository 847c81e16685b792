/**
 * The platform rules the runtime harness (test/support/trigger-runtime) applies on its own,
 * without processes: queue concurrency per key, idempotency keys (TTL, release on failure),
 * the status a run ends with, and no child for a parent that has ended. Tests built on the
 * harness rely on these.
 */
import { describe, expect, it } from "vitest"
import { QueueSlots } from "../support/trigger-runtime/concurrency.ts"
import { RunController } from "../support/trigger-runtime/controller.ts"
import { IdempotencyKeys, ttlMs } from "../support/trigger-runtime/idempotency.ts"
import { newRunId, RELEASES_IDEMPOTENCY_KEY, statusOfFailure } from "../support/trigger-runtime/runs.ts"

describe("trigger runtime harness rules", () => {
  it("a queue's concurrencyLimit applies per concurrency key; unlisted queues are unlimited", () => {
    const slots = new QueueSlots(new Map([["linkedin-account", 1]]))
    expect(slots.tryTake("run_a", "linkedin-account", "acct-1")).toBe(true)
    expect(slots.tryTake("run_b", "linkedin-account", "acct-1")).toBe(false)
    expect(slots.tryTake("run_c", "linkedin-account", "acct-2")).toBe(true)
    expect(slots.tryTake("run_a", "linkedin-account", "acct-1")).toBe(true)
    slots.release("run_a", "linkedin-account", "acct-1")
    expect(slots.tryTake("run_b", "linkedin-account", "acct-1")).toBe(true)
    expect(["run_x", "run_y", "run_z"].every((id) => slots.tryTake(id, "task/dedupe", undefined))).toBe(true)
  })

  it("an idempotency key finds its run until released or expired; only failed ends release it", () => {
    const keys = new IdempotencyKeys()
    keys.hold("dedupe", "k", "run_1", undefined)
    expect(keys.find("dedupe", "k")).toBe("run_1")
    expect(keys.find("fetch-page", "k")).toBeUndefined()
    keys.release("dedupe", "k", "run_other")
    expect(keys.find("dedupe", "k")).toBe("run_1")
    keys.release("dedupe", "k", "run_1")
    expect(keys.find("dedupe", "k")).toBeUndefined()
    keys.hold("dedupe", "k", "run_2", "0s")
    expect(keys.find("dedupe", "k")).toBeUndefined()
    expect([ttlMs("60s"), ttlMs("5m"), ttlMs("2h"), ttlMs("30d"), ttlMs(undefined)]).toEqual([60_000, 300_000, 7_200_000, 2_592_000_000, 2_592_000_000])
    expect([...RELEASES_IDEMPOTENCY_KEY].sort()).toEqual(["CRASHED", "FAILED", "SYSTEM_FAILURE", "TIMED_OUT"])
  })

  it("a run's end maps to the status runs.retrieve reports", () => {
    expect(statusOfFailure({ type: "BUILT_IN_ERROR", name: "AbortTaskRunError", message: "x", stackTrace: "" })).toBe("FAILED")
    expect(statusOfFailure({ type: "INTERNAL_ERROR", code: "TASK_RUN_CANCELLED" })).toBe("CANCELED")
    expect(statusOfFailure({ type: "INTERNAL_ERROR", code: "MAX_DURATION_EXCEEDED" })).toBe("TIMED_OUT")
    expect(statusOfFailure({ type: "INTERNAL_ERROR", code: "TASK_PROCESS_EXITED_WITH_NON_ZERO_CODE" })).toBe("CRASHED")
    expect(statusOfFailure({ type: "INTERNAL_ERROR", code: "COULD_NOT_IMPORT_TASK" })).toBe("SYSTEM_FAILURE")
    expect(newRunId()).toMatch(/^run_[a-z0-9]{24}$/)
  })

  it("a trigger whose parent has ended is refused, as the platform refuses it; before that it is a child", async () => {
    const controller = new RunController({
      manifest: { tasks: [{ id: "parent" }, { id: "child" }] } as never,
      internals: {} as never,
      pool: {} as never,
      apiUrl: "http://127.0.0.1:0",
      secretKey: "tr_dev_test",
      env: () => ({}),
      autoRun: () => false,
      timeScale: 0,
      concurrency: false,
      log: () => {}
    })
    const parent = await controller.trigger("parent", { payload: {} })
    if (parent === undefined || "refused" in parent) throw new Error("the parent was not created")
    const child = await controller.trigger("child", { payload: {}, options: { parentRunId: parent.id } })
    if (child === undefined || "refused" in child) throw new Error("the child was not created")
    expect(controller.runs.get(child.id)?.parentId).toBe(parent.id)
    await controller.cancel(parent.id)
    expect(controller.runs.get(parent.id)?.status).toBe("CANCELED")
    expect(await controller.trigger("child", { payload: {}, options: { parentRunId: parent.id } }))
      .toEqual({ refused: "Cannot trigger child as the parent run has a status of CANCELED" })
    expect([...controller.runs.values()].filter((r) => r.parentId === parent.id)).toHaveLength(1)
  })
})
