/**
 * Section `post`: POST /api/lists/import-sales-nav on the real service (ServerLive on an
 * ephemeral port of this process, a real socket), driven by autocannon from a child process with
 * 64 users, next to its floor in the same run: a bare node:http server doing the same writes in
 * one statement after an indexed token lookup. The two take turns in slices (`takingTurns`), so a
 * neighbour that slows the machine for a while slows both alike.
 *
 * What the service is configured with, so the figure is the POST's own cost:
 * - IMPORT_RATE_PER_MINUTE 1e9 (burst 1e6): the limiter's statement still runs, it never refuses;
 * - maxResults 25: one page's reservation;
 * - LOCAL_ENGINE_CONCURRENCY 1 and FAKE_PAGE_LATENCY_MS 600000: each import is dispatched (the
 *   POST answers with its run id) and one at a time runs, asleep on its first page for ten
 *   minutes, so imports take no CPU or database time away from the requests being measured.
 */
import { Effect, Layer, ConfigProvider, ManagedRuntime } from "effect"
import { HttpServer } from "effect/http"
import { createHash, randomBytes, randomUUID } from "node:crypto"
import { createServer, type Server } from "node:http"
import { execFile } from "node:child_process"
import { ServerLive, ServicesLive } from "../src/app.ts"
import { Accounts } from "../src/accounts/Accounts.ts"
import { Database } from "../src/db/Database.ts"
import { type FloorSql, floorPGlite, floorPostgres } from "./floor.ts"
import { type Backend, cpuDuring, fmt, type Options, pct, type Row, serviceEnv, spread, takingTurns, withScratch } from "./lib.ts"
import type { LoadResult, LoadSpec } from "./load-worker.ts"

const USERS = 64
const CONNECTIONS = [1, 8, 32]
const POOL = 10
const PATH = "/api/lists/import-sales-nav"
const BODY = JSON.stringify({ url: "https://www.linkedin.com/sales/search/people?query=(keywords%3Acto)", maxResults: 25 })

interface User {
  readonly userId: string
  readonly token: string
}

/** autocannon in a child process against `port`. */
const load = (port: number, tokens: ReadonlyArray<string>, connections: number, seconds: number) =>
  new Promise<LoadResult>((resolve, reject) => {
    const spec: LoadSpec = { url: `http://127.0.0.1:${port}`, path: PATH, tokens, body: BODY, connections, seconds }
    execFile(process.execPath, [new URL("./load-worker.ts", import.meta.url).pathname], {
      env: { ...process.env, BENCH_LOAD_SPEC: JSON.stringify(spec) }
    }, (error, stdout) => (error ? reject(error) : resolve(JSON.parse(stdout) as LoadResult)))
  })

/** The real service on an ephemeral port, with USERS users who each have a Sales Navigator account and credits. */
const startService = async (databaseUrl: string | undefined) => {
  const env = serviceEnv(databaseUrl, {
    DATABASE_POOL_MAX: String(POOL),
    IMPORT_RATE_PER_MINUTE: "1000000000",
    IMPORT_RATE_BURST: "1000000",
    LOCAL_ENGINE_CONCURRENCY: "1",
    FAKE_PAGE_LATENCY_MS: "600000"
  })
  const runtime = ManagedRuntime.make(
    ServerLive(0, { logRequests: false }).pipe(
      Layer.provideMerge(ServicesLive),
      Layer.provideMerge(Database.layer),
      Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(env)))
    )
  )
  const port = await runtime.runPromise(Effect.map(HttpServer.HttpServer, (s) => (s.address as { port: number }).port))
  const users = await runtime.runPromise(Effect.gen(function*() {
    const accounts = yield* Accounts
    return yield* Effect.forEach(Array.from({ length: USERS }), () =>
      accounts.createUser({ email: `bench-${randomBytes(6).toString("hex")}@example.com`, credits: 1_000_000_000, salesNavigator: true }))
  }))
  return { port, users: users.map((u): User => ({ userId: u.userId, token: u.token })), stop: () => runtime.dispose() }
}

const FLOOR_SCHEMA = [
  `create table f_tokens (token_hash text primary key, user_id uuid not null)`,
  `create table f_streams (stream_id text primary key, version integer not null)`,
  `create table f_events (
     position bigint generated always as identity primary key, event_id uuid not null unique, stream_id text not null,
     version integer not null, type text not null, data jsonb not null, user_id text, recorded_at timestamptz not null default now(),
     unique (stream_id, version))`,
  `create table f_lists (id uuid primary key, user_id uuid not null, name text not null, created_at timestamptz not null default now())`,
  `create index f_lists_user on f_lists (user_id, created_at)`,
  `create table f_imports (import_id uuid primary key, user_id uuid not null, list_id uuid not null, status text not null,
     url text not null, max_results bigint not null, credits_reserved bigint not null, created_at timestamptz not null default now())`,
  `create index f_imports_user on f_imports (user_id, created_at)`,
  `create table f_credit_accounts (user_id uuid primary key, version integer not null, granted bigint not null, reserved bigint not null default 0)`,
  `create table f_credit_holds (import_id uuid primary key, user_id uuid not null, reserved bigint not null)`,
  `create table f_outbox (import_id uuid primary key, user_id uuid not null, created_at timestamptz not null default now())`
]

/**
 * What the POST writes, as one statement: the reservation (with its version bump), the three
 * events and their streams, the list, the import, the hold and the outbox entry.
 * $1 user id, $2 import id, $3 list id, $4 reserved, $5 url, $6 the request (jsonb).
 */
const FLOOR_COMMAND = `
  with acct as (
    update f_credit_accounts set reserved = reserved + $4::bigint, version = version + 1
    where user_id = $1::uuid and granted - reserved >= $4::bigint returning version
  ), ev as (
    insert into f_events (event_id, stream_id, version, type, data, user_id)
    select gen_random_uuid(), s, v, t, $6::text::jsonb, $1::text
    from acct, lateral (values ('import-' || $2::text, 1, 'ImportRequested'), ('list-' || $3::text, 1, 'ListResolved'),
                               ('credits-' || $1::text, acct.version, 'CreditsReserved')) as e(s, v, t)
  ), st as (
    insert into f_streams (stream_id, version) select 'import-' || $2::text, 1 from acct union all select 'list-' || $3::text, 1 from acct
  ), cs as (
    update f_streams set version = acct.version from acct where stream_id = 'credits-' || $1::text
  ), l as (
    insert into f_lists (id, user_id, name) select $3::uuid, $1::uuid, 'Sales Navigator import' from acct
  ), i as (
    insert into f_imports (import_id, user_id, list_id, status, url, max_results, credits_reserved)
    select $2::uuid, $1::uuid, $3::uuid, 'queued', $5::text, $4::bigint, $4::bigint from acct
  ), h as (
    insert into f_credit_holds (import_id, user_id, reserved) select $2::uuid, $1::uuid, $4::bigint from acct
  ), o as (
    insert into f_outbox (import_id, user_id) select $2::uuid, $1::uuid from acct
  )
  select version from acct`

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex")

/** The floor: node:http + the database, token lookup then FLOOR_COMMAND, answering what the POST answers. */
const startFloor = async (db: FloorSql, users: ReadonlyArray<User>) => {
  for (const statement of FLOOR_SCHEMA) await db.query(statement)
  for (const u of users) {
    await db.query(`insert into f_tokens values ($1, $2::uuid)`, [sha256(u.token), u.userId])
    await db.query(`insert into f_credit_accounts values ($1::uuid, 1, 1000000000, 0)`, [u.userId])
    await db.query(`insert into f_streams values ($1, 1)`, [`credits-${u.userId}`])
  }
  const server: Server = createServer(async (req, res) => {
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" })
      res.end(JSON.stringify(body))
    }
    try {
      const chunks: Array<Buffer> = []
      for await (const chunk of req) chunks.push(chunk as Buffer)
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { url: string; maxResults: number }
      const token = (req.headers.authorization ?? "").replace(/^Bearer /, "")
      const [found] = await db.query(`select user_id from f_tokens where token_hash = $1`, [sha256(token)])
      if (!found) return answer(401, { success: false, code: "UNAUTHORIZED" })
      const importId = randomUUID()
      const listId = randomUUID()
      const [reserved] = await db.query(FLOOR_COMMAND, [found.user_id, importId, listId, body.maxResults, body.url, JSON.stringify(body)])
      if (!reserved) return answer(402, { success: false, code: "INSUFFICIENT_CREDITS" })
      answer(200, { success: true, listId, runId: `run_${randomBytes(12).toString("hex")}`, maxResults: body.maxResults, wasCapped: false })
    } catch (error) {
      answer(500, { success: false, error: String(error) })
    }
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    port: (server.address() as { port: number }).port,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

interface Slice {
  readonly result: LoadResult
  readonly processMs: number
  readonly databaseMs: number
  readonly walBytes: number
}

/**
 * One side's slices as one load: its rate over all of them, the median slice's p50, the worst
 * slice's p99 (slices' latencies do not merge exactly; the worst is the safe side), every non-200,
 * and the CPU a request cost (this process: the server under load; the database's backends).
 */
const merged = (slices: ReadonlyArray<Slice>) => {
  const sum = (f: (s: Slice) => number) => slices.reduce((total, s) => total + f(s), 0)
  const requests = sum((s) => s.result.requests)
  const seconds = sum((s) => s.result.seconds)
  const p50s = slices.map((s) => s.result.p50).sort((a, b) => a - b)
  const statusCodes: Record<string, number> = {}
  for (const s of slices) for (const [code, n] of Object.entries(s.result.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n
  return {
    requests,
    seconds,
    reqPerSec: sum((s) => s.result.reqPerSec * s.result.seconds) / seconds,
    p50: p50s[Math.floor((p50s.length - 1) / 2)]!,
    p99: Math.max(...slices.map((s) => s.result.p99)),
    non200: sum((s) => s.result.non200),
    statusCodes,
    slices: slices.map((s) => s.result.reqPerSec),
    cpu: { process: sum((s) => s.processMs) / Math.max(1, requests), database: sum((s) => s.databaseMs) / Math.max(1, requests) },
    walKb: sum((s) => s.walBytes) / 1024 / Math.max(1, requests)
  }
}

const measure = async (backend: Backend, options: Options, databaseUrl: string | undefined, floorUrl: string | undefined) => {
  const rows: Array<Row> = []
  const secondsEach = options.seconds ?? (options.quick ? 3 : 10)
  const slices = options.quick ? 2 : 4
  const service = await startService(databaseUrl)
  const floorDb = floorUrl ? floorPostgres(floorUrl, POOL) : await floorPGlite()
  const floor = await startFloor(floorDb, service.users)
  const tokens = service.users.map((u) => u.token)
  try {
    // Warm both (JIT, prepared statements, caches) before anything is timed.
    await load(service.port, tokens, 8, options.quick || options.seconds ? 1 : 2)
    await load(floor.port, tokens, 8, options.quick || options.seconds ? 1 : 2)
    for (const connections of CONNECTIONS) {
      // Taking turns (service, floor, floor, service, …), with the CPU each side used per request:
      // a figure the machine's neighbours move less than req/s.
      const turns = await takingTurns(
        slices,
        secondsEach,
        (seconds) => cpuDuring(databaseUrl, () => load(service.port, tokens, connections, seconds)),
        (seconds) => cpuDuring(floorUrl, () => load(floor.port, tokens, connections, seconds))
      )
      const s = merged(turns.service)
      const f = merged(turns.floor)
      const ratios = s.slices.map((rate, i) => rate / f.slices[i]!)
      const cpu = (r: typeof s) =>
        databaseUrl === undefined
          ? `CPU ${fmt(r.cpu.process, 2)} ms a request`
          : `CPU ${fmt(r.cpu.process, 2)} + ${fmt(r.cpu.database, 2)} ms a request (server + database), WAL ${fmt(r.walKb, 1)} KB`
      const line = (r: typeof s) => `${fmt(r.reqPerSec)} req/s, p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms, non-200 ${r.non200}; ${cpu(r)}`
      const row: Row = {
        section: "post",
        backend,
        measure: `POST import, ${USERS} users, ${connections} connection${connections > 1 ? "s" : ""}`,
        value: line(s),
        floor: line(f),
        ratio: `${pct(s.reqPerSec, f.reqPerSec)}${ratios.length > 1 ? ` (slices ${spread(ratios)})` : ""}`,
        target: connections >= 8 ? `≥ 50 %${connections === 32 ? ", p99 < 50 ms" : ""}, non-200 = 0` : "non-200 = 0",
        data: { connections, service: s, floor: f }
      }
      console.error(`post ${backend} ${connections}c: service ${row.value} | floor ${row.floor} | ${row.ratio}`)
      rows.push(row)
    }
  } finally {
    await floor.stop()
    await floorDb.close()
    await service.stop()
  }
  return rows
}

export const runPost = async (options: Options): Promise<Array<Row>> => {
  if (!options.databaseUrl) return measure("PGlite", options, undefined, undefined)
  const url = options.databaseUrl
  return withScratch(url, "post", (serviceUrl) => withScratch(url, "postfloor", (floorUrl) => measure("PostgreSQL", options, serviceUrl, floorUrl)))
}
