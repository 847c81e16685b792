/**
 * A local stand-in for Unipile's HTTP API, for the adapter's contract tests: a node:http
 * server on an ephemeral port that records every request and answers with what the
 * test's `reply` says (or never, for undefined); closed with the scope. Also reads
 * the JSON fixtures, whose `source` field says which documented payload each copies.
 */
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { createServer, type IncomingHttpHeaders } from "node:http"
import type { AddressInfo } from "node:net"

export interface Received {
  readonly method: string
  readonly url: URL
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

export interface Reply {
  readonly status: number
  readonly body: string
  readonly headers?: Readonly<Record<string, string>>
}

export interface Stub {
  readonly baseUrl: string
  readonly received: Array<Received>
}

/** A stub answering `reply(request, index)`; `index` counts requests from 0. */
export const stubUnipile = (reply: (request: Received, index: number) => Reply | undefined) =>
  Effect.map(
    Effect.acquireRelease(
      Effect.promise(() => {
        const received: Array<Received> = []
        const server = createServer((req, res) => {
          const chunks: Array<Buffer> = []
          req.on("data", (chunk: Buffer) => chunks.push(chunk))
          req.on("end", () => {
            const request = {
              method: req.method ?? "",
              url: new URL(req.url ?? "/", "http://stub"),
              headers: req.headers,
              body: Buffer.concat(chunks).toString()
            }
            received.push(request)
            const answer = reply(request, received.length - 1)
            if (answer === undefined) return
            res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers }).end(answer.body)
          })
        })
        return new Promise<{ server: typeof server; stub: Stub }>((resolve) =>
          server.listen(0, "127.0.0.1", () =>
            resolve({ server, stub: { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received } })
          )
        )
      }),
      ({ server }) =>
        Effect.promise(() => {
          server.closeAllConnections()
          return new Promise<void>((resolve) => server.close(() => resolve()))
        })
    ),
    ({ stub }) => stub
  )

/** A JSON answer. */
export const json = (status: number, body: unknown, headers?: Readonly<Record<string, string>>): Reply => ({
  status,
  body: JSON.stringify(body),
  ...(headers === undefined ? {} : { headers })
})

/** A documented success payload: `source` cites its origin, `body` is what Unipile sends. */
export interface SuccessFixture {
  readonly source: string
  readonly status: number
  readonly body: Record<string, unknown>
}

/** Documented error payloads with what each must become. */
export interface ErrorFixtures {
  readonly source: string
  readonly errors: ReadonlyArray<{
    readonly status: number
    readonly headers?: Readonly<Record<string, string>>
    readonly body: { readonly type: string } & Record<string, unknown>
    readonly expect: { readonly kind: "transient" | "permanent"; readonly code: string }
  }>
}

/** A fixture from test/leads/fixtures/. */
export const fixture = <A>(name: string): A =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), "utf8")) as A
