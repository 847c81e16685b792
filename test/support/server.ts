/**
 * The real service on a real socket for end-to-end tests: the application layers
 * over an isolated test database, served on an ephemeral port of 127.0.0.1, with
 * configuration given as a plain record (nothing read from the process env).
 */
import { ConfigProvider, Context, Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import { ServerLive, ServicesLive } from "../../src/app.ts"
import type { Database } from "../../src/db/Database.ts"
import { TestDatabase } from "./db.ts"
import { platform, stubApi } from "./trigger-stub.ts"

export const ADMIN_TOKEN = "test-admin-token-0123456789"
export const SUPPORT_TOKEN = "test-support-token-9876543210"

/**
 * Everything an e2e test can reach: the server, the services, the database. The reconciler's
 * background pass is off unless a test turns it on (RECONCILE_INTERVAL_MS), so it never races
 * a test that checks the outbox itself.
 */
export const TestApp = (
  env: Record<string, string> = {},
  options: { readonly maxConnections?: number; readonly database?: Layer.Layer<Database, unknown> } = {}
) =>
  ServerLive(0, { logRequests: false }).pipe(
    Layer.provideMerge(ServicesLive),
    Layer.provideMerge(options.database ?? TestDatabase({ max: options.maxConnections ?? 10 })),
    Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({
      ADMIN_TOKEN,
      SUPPORT_TOKEN,
      FAKE_PAGE_LATENCY_MS: "0",
      RECONCILE_INTERVAL_MS: "0",
      // The limiter runs on every POST, but tests that fire bursts are not its subject.
      IMPORT_RATE_PER_MINUTE: "100000",
      IMPORT_RATE_BURST: "100000",
      ...env
    })))
  )

export interface Reply {
  readonly status: number
  readonly body: any
  readonly headers: Headers
}

export interface Client {
  readonly baseUrl: string
  request(
    method: string,
    path: string,
    options?: {
      readonly token?: string | undefined
      readonly json?: unknown
      readonly body?: string
      readonly headers?: Record<string, string>
    }
  ): Promise<Reply>
}

/** A fetch-based client for the server of the current test layer. */
export const client: Effect.Effect<Client, never, HttpServer.HttpServer> = Effect.map(HttpServer.HttpServer, (server) => {
  const address = server.address as { readonly port: number }
  const baseUrl = `http://127.0.0.1:${address.port}`
  return {
    baseUrl,
    request: async (method, path, options = {}) => {
      const headers: Record<string, string> = { ...options.headers }
      if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
      let body: string | undefined = options.body
      if (options.json !== undefined) {
        body = JSON.stringify(options.json)
        headers["content-type"] ??= "application/json"
      }
      const response = await fetch(`${baseUrl}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) })
      const text = await response.text()
      let parsed: unknown = text
      try {
        parsed = JSON.parse(text)
      } catch {
        // not JSON: the tests assert on it as text
      }
      return { status: response.status, body: parsed, headers: response.headers }
    }
  }
})

/** Runs a promise-returning step inside Effect (for fetch calls in Effect tests). */
export const call = <A>(f: () => Promise<A>) => Effect.promise(f)


/**
 * The app with TASK_ENGINE=trigger against a stub of the Trigger.dev API: the real SDK
 * enqueues over HTTP, nothing runs the pipeline. `TriggerStub` exposes what it received.
 */
export class TriggerStub extends Context.Service<
  TriggerStub,
  Effect.Success<ReturnType<typeof stubApi>> & Pick<ReturnType<typeof platform>, "runs" | "delayTriggers" | "refuseTriggers">
>()("test/TriggerStub") {}

export const TestAppOnTriggerStub = (env: Record<string, string> = {}, options: { readonly maxConnections?: number } = {}) =>
  Layer.unwrap(Effect.gen(function*() {
    const answers = platform()
    const stub = yield* stubApi(answers)
    return TestApp({ TASK_ENGINE: "trigger", TRIGGER_SECRET_KEY: "tr_dev_e2e", TRIGGER_API_URL: stub.url, ...env }, options).pipe(
      Layer.provideMerge(Layer.succeed(TriggerStub, { ...stub, runs: answers.runs, delayTriggers: answers.delayTriggers, refuseTriggers: answers.refuseTriggers }))
    )
  }))
