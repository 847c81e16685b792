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

/** A Trigger.dev API on 127.0.0.1 that records every request and answers with `reply`. */
export const stubApi = (reply: (request: Received, index: number) => Reply) =>
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
          received.push(request)
          const answer = reply(request, received.length - 1)
          replies.push(answer)
          if (answer === "no-answer") return
          res.writeHead(answer.status, { "content-type": "application/json" }).end(JSON.stringify(answer.body))
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

/** Answers like the platform: 404 for other paths, one run per idempotency key, `isCached` on a repeat. */
export const platform = () => {
  const runs = new Map<string, string>()
  return (request: Received): Reply => {
    if (request.method !== "POST" || !/^\/api\/v1\/tasks\/[^/]+\/trigger$/.test(request.url)) {
      return { status: 404, body: { error: "Not found" } }
    }
    const key: string | undefined = request.body?.options?.idempotencyKey
    const cached = key !== undefined ? runs.get(key) : undefined
    if (cached !== undefined) return { status: 200, body: { id: cached, isCached: true } }
    const id = newRunId()
    if (key !== undefined) runs.set(key, id)
    return { status: 200, body: { id, isCached: false } }
  }
}

