/**
 * A small JSON HTTP server on 127.0.0.1 (ephemeral port) for the stand-ins of the Trigger.dev
 * API: routes are a method and a path pattern; a request no route answers gets a 404 and is
 * reported through `onUnknown`, so a call the harness does not know shows up when debugging.
 */
import { createServer, type IncomingHttpHeaders } from "node:http"
import type { AddressInfo } from "node:net"

export interface StubRequest {
  readonly method: string
  /** The path without the query string. */
  readonly path: string
  readonly query: URLSearchParams
  readonly headers: IncomingHttpHeaders
  /** The body parsed as JSON, the raw text when it is not JSON, undefined when empty. */
  readonly body: any
}

export interface StubAnswer {
  readonly status: number
  readonly body?: unknown
}

export interface Route {
  readonly method: string
  readonly path: RegExp
  /** `params` are the path pattern's capture groups, URI-decoded. */
  readonly handle: (request: StubRequest, params: ReadonlyArray<string>) => StubAnswer | Promise<StubAnswer>
}

export interface StubServer {
  readonly url: string
  close(): Promise<void>
}

export const json = (body: unknown, status = 200): StubAnswer => ({ status, body })

const parseBody = (text: string): unknown => {
  if (text === "") return undefined
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** Serves `routes`; an exception in a handler answers 500 and is reported like an unknown route. */
export const serveJson = (
  routes: ReadonlyArray<Route>,
  onUnknown: (request: StubRequest, why: string) => void
): Promise<StubServer> => {
  const server = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1")
      const request: StubRequest = {
        method: req.method ?? "GET",
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: parseBody(Buffer.concat(chunks).toString("utf8"))
      }
      const answer = async (): Promise<StubAnswer> => {
        for (const route of routes) {
          const match = route.method === request.method ? route.path.exec(request.path) : null
          if (match) return route.handle(request, match.slice(1).map((p) => decodeURIComponent(p ?? "")))
        }
        onUnknown(request, "no route")
        return json({ error: `No route for ${request.method} ${request.path}` }, 404)
      }
      answer().catch((error: unknown) => {
        onUnknown(request, `handler failed: ${error instanceof Error ? error.stack : String(error)}`)
        return json({ error: String(error) }, 500)
      }).then((a) => {
        res.writeHead(a.status, { "content-type": "application/json" }).end(a.body === undefined ? "{}" : JSON.stringify(a.body))
      })
    })
  })
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => {
          server.closeAllConnections()
          return new Promise((done) => server.close(() => done()))
        }
      }))
  )
}
