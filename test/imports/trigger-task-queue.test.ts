/**
 * Contract test of the `trigger` TaskQueue: the real @trigger.dev/sdk against a local stub of
 * the Trigger.dev API (`POST /api/v1/tasks/{taskId}/trigger`), so what the SDK puts on the wire
 * and how it retries is checked without the platform.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Layer } from "effect"
import { createHash } from "node:crypto"
import { EnqueueError, type EnqueueRequest, RUN_ID_PATTERN, TaskQueue } from "../../src/imports/TaskQueue.ts"
import { TriggerTaskQueue, type TriggerTaskQueueOptions } from "../../src/imports/TriggerTaskQueue.ts"
import { platform, stubApi } from "../support/trigger-stub.ts"

const KEY = "tr_dev_contract_test_key"

const request = (importId: string = crypto.randomUUID()): EnqueueRequest => ({
  importId,
  userId: crypto.randomUUID(),
  accountId: crypto.randomUUID()
})

const enqueueWith = (options: TriggerTaskQueueOptions, req: EnqueueRequest) =>
  TriggerTaskQueue.make(options).enqueue(req)

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex")

describe("TriggerTaskQueue against a stub Trigger.dev API", () => {
  it.live("triggers sales-nav-import with the key, an ids-only payload, the idempotency key, concurrency key and tags", () =>
    Effect.gen(function*() {
      const stub = yield* stubApi(platform())
      const req = request()
      const { runId } = yield* enqueueWith({ secretKey: KEY, apiUrl: stub.url }, req)

      expect(stub.received).toHaveLength(1)
      const [sent] = stub.received
      assert(sent !== undefined)
      expect(sent.method).toBe("POST")
      expect(sent.url).toBe("/api/v1/tasks/sales-nav-import/trigger")
      expect(sent.headers.authorization).toBe(`Bearer ${KEY}`)
      expect(sent.headers["content-type"]).toBe("application/json")
      expect(sent.headers["x-trigger-request-idempotency-key"]).toMatch(/^[0-9a-f-]{36}$/)

      // The payload is a superjson string; with no `meta` it deserializes to `json` as it is.
      expect(sent.body.options.payloadType).toBe("application/super+json")
      expect(JSON.parse(sent.body.payload)).toStrictEqual({ json: { importId: req.importId } })

      const { options } = sent.body
      // Global scope: the hash of the key material alone, nothing of a parent run mixed in.
      expect(options.idempotencyKey).toBe(sha256(`sales-nav-import:${req.importId}`))
      expect(options.idempotencyKeyOptions).toStrictEqual({ key: `sales-nav-import:${req.importId}`, scope: "global" })
      expect(options.idempotencyKeyTTL).toBe("30d")
      // No concurrency key on the parent: the one-at-a-time point per account is fetch-page (README).
      expect(options.concurrencyKey).toBeUndefined()
      expect(options.tags).toStrictEqual([`import:${req.importId}`, `user:${req.userId}`, `account:${req.accountId}`])
      expect(Object.keys(options).sort()).toStrictEqual(
        ["idempotencyKey", "idempotencyKeyOptions", "idempotencyKeyTTL", "payloadSize", "payloadType", "tags"]
      )
      expect(Object.keys(sent.body).sort()).toStrictEqual(["options", "payload"])

      expect(runId).toBe((stub.replies[0] as { body: { id: string } }).body.id)
      expect(runId).toMatch(RUN_ID_PATTERN)
    }))

  it.live("returns the stub's run id, the same run for a re-sent import and another run for another import", () =>
    Effect.gen(function*() {
      const stub = yield* stubApi(platform())
      const options = { secretKey: KEY, apiUrl: stub.url }
      const first = request()
      const again = { ...request(first.importId), userId: first.userId, accountId: first.accountId }
      const other = request()

      const a = yield* enqueueWith(options, first)
      const b = yield* enqueueWith(options, again)
      const c = yield* enqueueWith(options, other)

      expect(stub.received).toHaveLength(3)
      const answers = stub.replies.map((r) => (r as { body: { id: string; isCached: boolean } }).body)
      const keys = stub.received.map((r) => r.body.options.idempotencyKey)
      expect(keys[1]).toBe(keys[0])
      expect(keys[2]).not.toBe(keys[0])
      expect(answers.map((x) => x.isCached)).toStrictEqual([false, true, false])
      expect(a.runId).toBe(answers[0]?.id)
      expect(b.runId).toBe(a.runId)
      expect(c.runId).toBe(answers[2]?.id)
      expect(c.runId).not.toBe(a.runId)
      // Each enqueue is its own HTTP request with its own request id.
      const requestIds = new Set(stub.received.map((r) => r.headers["x-trigger-request-idempotency-key"]))
      expect(requestIds.size).toBe(3)
    }))

  it.live("turns a 400 into an EnqueueError at once, without retrying", () =>
    Effect.gen(function*() {
      const stub = yield* stubApi(() => ({ status: 400, body: { error: "Invalid concurrencyKey" } }))
      const req = request()
      const started = Date.now()
      const error = yield* Effect.flip(enqueueWith({ secretKey: KEY, apiUrl: stub.url }, req))
      const elapsed = Date.now() - started

      expect(error).toBeInstanceOf(EnqueueError)
      expect(error.message).toContain("Invalid concurrencyKey")
      expect(error.message).toContain("400")
      expect(error.message).toContain(req.importId)
      expect(stub.received).toHaveLength(1)
      expect(elapsed).toBeLessThan(1_000)
    }))

  it.live("lets the SDK retry a 500 and succeeds when the API recovers", () =>
    Effect.gen(function*() {
      const api = platform()
      const stub = yield* stubApi((received, index) =>
        index < 2 ? { status: 500, body: { error: "Internal server error" } } : api(received)
      )
      const { runId } = yield* enqueueWith({ secretKey: KEY, apiUrl: stub.url }, request())

      expect(stub.received).toHaveLength(3)
      expect(runId).toMatch(RUN_ID_PATTERN)
      // The SDK's retries are the same request: same body, same request id.
      expect(new Set(stub.received.map((r) => r.headers["x-trigger-request-idempotency-key"])).size).toBe(1)
      expect(new Set(stub.received.map((r) => JSON.stringify(r.body))).size).toBe(1)
    }))

  it.live("gives up on a failing API after the configured attempts", () =>
    Effect.gen(function*() {
      const stub = yield* stubApi(() => ({ status: 503, body: { error: "Service unavailable" } }))
      const error = yield* Effect.flip(
        enqueueWith({ secretKey: KEY, apiUrl: stub.url, retry: { maxAttempts: 2, minTimeoutInMs: 10, maxTimeoutInMs: 10 } }, request())
      )
      expect(error).toBeInstanceOf(EnqueueError)
      expect(error.message).toContain("503")
      expect(stub.received).toHaveLength(2)
    }))

  it.live("fails with an EnqueueError when the API does not answer in time", () =>
    Effect.gen(function*() {
      const stub = yield* stubApi(() => "no-answer")
      const started = Date.now()
      const error = yield* Effect.flip(enqueueWith({ secretKey: KEY, apiUrl: stub.url, timeout: "300 millis" }, request()))
      expect(error).toBeInstanceOf(EnqueueError)
      expect(error.message).toContain("did not answer within")
      expect(Date.now() - started).toBeLessThan(5_000)
      expect(stub.received).toHaveLength(1)
    }))

  it.live("keeps each queue's key and URL to itself (no process-wide SDK configuration)", () =>
    Effect.gen(function*() {
      const one = yield* stubApi(platform())
      const two = yield* stubApi(platform())
      yield* Effect.all([
        enqueueWith({ secretKey: "tr_dev_one", apiUrl: one.url }, request()),
        enqueueWith({ secretKey: "tr_dev_two", apiUrl: two.url }, request()),
        enqueueWith({ secretKey: "tr_dev_one", apiUrl: one.url }, request())
      ], { concurrency: "unbounded" })
      expect(one.received.map((r) => r.headers.authorization)).toStrictEqual(["Bearer tr_dev_one", "Bearer tr_dev_one"])
      expect(two.received.map((r) => r.headers.authorization)).toStrictEqual(["Bearer tr_dev_two"])
    }))
})

describe("TriggerTaskQueue.layer", () => {
  const withEnv = (env: Record<string, string>) =>
    TriggerTaskQueue.layer.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env }))))

  it.live("reads TRIGGER_SECRET_KEY and TRIGGER_API_URL from config", () =>
    Effect.gen(function*() {
      const stub = yield* stubApi(platform())
      const { engine, runId } = yield* Effect.gen(function*() {
        const queue = yield* TaskQueue
        const { runId } = yield* queue.enqueue(request())
        return { engine: queue.engine, runId }
      }).pipe(Effect.provide(withEnv({ TRIGGER_SECRET_KEY: "tr_prod_from_env", TRIGGER_API_URL: stub.url })))

      expect(engine).toBe("trigger")
      expect(runId).toMatch(RUN_ID_PATTERN)
      expect(stub.received.map((r) => r.headers.authorization)).toStrictEqual(["Bearer tr_prod_from_env"])
    }))

  it.live("fails with a message naming TRIGGER_SECRET_KEY when it is missing or empty", () =>
    Effect.gen(function*() {
      const envs: Array<Record<string, string>> = [{}, { TRIGGER_SECRET_KEY: "" }, { TRIGGER_SECRET_KEY: "  ", TRIGGER_API_URL: "http://127.0.0.1:9" }]
      for (const env of envs) {
        const exit = yield* Effect.exit(Layer.build(withEnv(env)))
        assert(Exit.isFailure(exit))
        expect(String(exit.cause)).toContain("TRIGGER_SECRET_KEY is required")
      }
    }))
})
