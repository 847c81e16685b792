/**
 * A stand-in for the Trigger.dev API on 127.0.0.1: `POST /api/v1/tasks/{taskId}/trigger`
 * answered as the platform does (one run per idempotency key), recording every request.
 * Enough for the real SDK to enqueue against (see ../shared/notes/trigger-dev.md).
 */
import { Effect } from "effect"
import { createServer, type IncomingHttpHeaders } from "node:http"
import type { AddressInfo } from "node:net"

export interface Received {
  readonly method: string
  readonly url: string
  readonly headers: IncomingHttpHeaders
  readonly body: any
}

export type Reply = { readonly status: number; readonly body: unknown } | "no-answer"

/** A Trigger.dev API on 127.0.0.1 that records every request and answers with `reply` (which may take its time). */
export const stubApi = (reply: (request: Received, index: number) => Reply | Promise<Reply>) =>
  Effect.acquireRelease(
    Effect.promise(() => {
      const received: Array<Received> = []
      const replies: Array<Reply> = []
      const server = createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (chunk: Buffer) => chunks.push(chunk))
        req.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8")
          const request: Received = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: text === "" ? undefined : JSON.parse(text) }
          const index = received.push(request) - 1
          void Promise.resolve(reply(request, index)).then((answer) => {
            replies[index] = answer
            if (answer === "no-answer" || res.destroyed) return
            res.writeHead(answer.status, { "content-type": "application/json" }).end(JSON.stringify(answer.body))
          })
        })
      })
      return new Promise<{ url: string; received: Array<Received>; replies: Array<Reply>; close: () => Promise<void> }>((resolve) =>
        server.listen(0, "127.0.0.1", () =>
          resolve({
            url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
            received,
            replies,
            close: () => {
              server.closeAllConnections()
              return new Promise((done) => server.close(() => done()))
            }
          }))
      )
    }),
    (stub) => Effect.promise(stub.close)
  )

export const newRunId = () => `run_${crypto.randomUUID().replace(/-/g, "").slice(0, 24)}`

/** A run as the stub platform keeps it. */
export interface StubRun {
  readonly id: string
  readonly taskId: string
  readonly tags: ReadonlyArray<string>
  status: string
}

/** The fields `runs.retrieve` requires (RetrieveRunResponse in @trigger.dev/core's schemas/api). */
export const retrieveRunBody = (run: StubRun) => {
  const now = new Date().toISOString()
  const ended = ["COMPLETED", "CANCELED", "FAILED", "CRASHED", "SYSTEM_FAILURE", "EXPIRED", "TIMED_OUT"].includes(run.status)
  return {
    id: run.id,
    status: run.status,
    taskIdentifier: run.taskId,
    isQueued: run.status === "QUEUED",
    isExecuting: run.status === "EXECUTING",
    isWaiting: run.status === "WAITING",
    isCompleted: ended,
    isSuccess: run.status === "COMPLETED",
    isFailed: ended && run.status !== "COMPLETED" && run.status !== "CANCELED",
    isCancelled: run.status === "CANCELED",
    isTest: false,
    createdAt: now,
    updatedAt: now,
    tags: run.tags,
    costInCents: 0,
    baseCostInCents: 0,
    durationMs: 0,
    depth: 0,
    triggerFunction: "trigger",
    relatedRuns: {},
    attemptCount: 1
  }
}

/**
 * Answers like the platform: one run per idempotency key (`isCached` on a repeat), runs that
 * stay EXECUTING until a test changes them, `runs.cancel` and `runs.retrieve`; 404 otherwise.
 */
export const platform = () => {
  const runs = new Map<string, StubRun>()
  const keys = new Map<string, string>()
  let triggerDelay: readonly [number, number] | undefined
  let refusing = false
  const later = (answer: Reply): Reply | Promise<Reply> =>
    triggerDelay === undefined
      ? answer
      : new Promise((resolve) => setTimeout(() => resolve(answer), triggerDelay![0] + Math.random() * (triggerDelay![1] - triggerDelay![0])))
  const reply = (request: Received): Reply | Promise<Reply> => {
    const trigger = /^\/api\/v1\/tasks\/([^/]+)\/trigger$/.exec(request.url)
    if (request.method === "POST" && trigger) {
      return later(refusing ? { status: 400, body: { error: "Task not found" } } : triggered(request, trigger[1]!))
    }
    return other(request)
  }
  const triggered = (request: Received, taskId: string): Reply => {
    const key: string | undefined = request.body?.options?.idempotencyKey
    const cached = key !== undefined ? keys.get(key) : undefined
    if (cached !== undefined) return { status: 200, body: { id: cached, isCached: true } }
    const id = newRunId()
    runs.set(id, { id, taskId, tags: request.body?.options?.tags ?? [], status: "EXECUTING" })
    if (key !== undefined) keys.set(key, id)
    return { status: 200, body: { id, isCached: false } }
  }
  const other = (request: Received): Reply => {
    const cancel = /^\/api\/v2\/runs\/([^/]+)\/cancel$/.exec(request.url)
    const retrieve = /^\/api\/v3\/runs\/([^/?]+)/.exec(request.url)
    const run = runs.get((cancel ?? retrieve)?.[1] ?? "")
    if (run === undefined) return { status: 404, body: { error: "Not found" } }
    if (request.method === "POST" && cancel) {
      run.status = "CANCELED"
      return { status: 200, body: { id: run.id } }
    }
    if (request.method === "GET" && retrieve) return { status: 200, body: retrieveRunBody(run) }
    return { status: 404, body: { error: "Not found" } }
  }
  return Object.assign(reply, {
    runs,
    /** From now on a trigger is answered after a random delay in [minMs, maxMs]. */
    delayTriggers: (minMs: number, maxMs: number) => {
      triggerDelay = maxMs > 0 ? [minMs, maxMs] : undefined
    },
    /** From now on (until told otherwise) a trigger is refused with 400, as for a task that does not exist. */
    refuseTriggers: (refuse: boolean) => {
      refusing = refuse
    }
  })
}
