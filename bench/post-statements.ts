/**
 * How many SQL statements one POST /api/lists/import-sales-nav costs (token lookup, rate limit,
 * the command, the dispatch), counted at the driver on in-memory PGlite — the same statements
 * the service sends PostgreSQL. `node bench/post-statements.ts` prints the count per POST, with
 * and without an Idempotency-Key, a first request (token not cached yet) and the ones after.
 */
import { PGlite } from "@electric-sql/pglite"
import { ConfigProvider, Effect, Layer, ManagedRuntime } from "effect"
import { HttpServer } from "effect/http"
import { Accounts } from "../src/accounts/Accounts.ts"
import { ServerLive, ServicesLive } from "../src/app.ts"
import { Database } from "../src/db/Database.ts"
import { serviceEnv } from "./lib.ts"

const seen: Array<string> = []
let counting = false
// The service's PGlite pool runs a statement with parameters as Bind/Describe/Execute messages of
// its own (src/db/pglite-pool.ts), the rest through `query` and `exec`: each Execute is one.
const EXECUTE = "E".charCodeAt(0)
const count = <K extends "query" | "exec" | "execProtocolStream">(method: K, statementsOf: (args: Array<any>) => Array<string>) => {
  const original = PGlite.prototype[method] as (...args: Array<any>) => unknown
  ;(PGlite.prototype as any)[method] = function(this: PGlite, ...args: Array<any>) {
    if (counting) for (const statement of statementsOf(args)) seen.push(statement.replace(/\s+/g, " ").trim().slice(0, 90))
    return original.apply(this, args)
  }
}
count("query", ([text]) => [String(text)])
count("exec", ([text]) => String(text).split(";").filter((s) => s.trim() !== ""))
count("execProtocolStream", ([message]) => (message as Uint8Array)[0] === EXECUTE ? ["(prepared statement)"] : [])

const env = serviceEnv(undefined, { LOCAL_ENGINE_CONCURRENCY: "1", FAKE_PAGE_LATENCY_MS: "600000", IMPORT_RATE_PER_MINUTE: "1000000" })
const runtime = ManagedRuntime.make(
  ServerLive(0, { logRequests: false }).pipe(
    Layer.provideMerge(ServicesLive),
    Layer.provideMerge(Database.layer),
    Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(env)))
  )
)
const port = await runtime.runPromise(Effect.map(HttpServer.HttpServer, (s) => (s.address as { port: number }).port))
const user = await runtime.runPromise(Effect.flatMap(Accounts, (a) =>
  a.createUser({ email: "count@example.com", credits: 1_000_000, salesNavigator: true })))

const post = async (key?: string) => {
  const response = await fetch(`http://127.0.0.1:${port}/api/lists/import-sales-nav`, {
    method: "POST",
    headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json", ...(key ? { "idempotency-key": key } : {}) },
    body: JSON.stringify({ url: "https://www.linkedin.com/sales/search/people?query=(keywords%3Acto)", maxResults: 25 })
  })
  if (response.status !== 200) throw new Error(`POST answered ${response.status}: ${await response.text()}`)
  // Let the dispatch that follows the answer (if any) finish before counting stops.
  await new Promise((resolve) => setTimeout(resolve, 300))
}

const counted = async (label: string, run: () => Promise<void>) => {
  seen.length = 0
  counting = true
  await run()
  counting = false
  console.log(`${label}: ${seen.length} statements`)
  if (process.argv.includes("--verbose")) for (const s of seen) console.log(`  ${s}`)
}

await counted("first POST (token not seen before)", () => post())
await counted("POST", () => post())
await counted("POST with an Idempotency-Key", () => post(crypto.randomUUID()))
const key = crypto.randomUUID()
await post(key)
await counted("replayed POST (same key and body)", () => post(key))
await runtime.dispose()
