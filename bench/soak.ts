/**
 * `npm run soak [-- --minutes 10 --users 6 --imports-per-minute 30]`: the real service
 * (`node src/main.ts`; PostgreSQL in a scratch database of DATABASE_URL's server when it is set,
 * else PGlite in a temporary directory) under a steady import load for a while: imports started
 * at a steady rate by several users, and each import read as a client reads it — its status
 * and its new rows every second until it ends, the credits now and then.
 *
 * Reports per minute: the service process's RSS, p50/p99 latency of the POST and of the reads,
 * errors, imports started and completed; then whether every credit is accounted for (after the
 * last import ended: nothing reserved, balance = granted - the credits every import charged),
 * and whether RSS and p99 stayed flat. Flat: after the first minute (warm-up), the median of the
 * later half of the minutes is at most 10% (RSS) / 50% + 10 ms (p99 of each kind) above the
 * median of the earlier half — medians, so one minute slowed by another process on a shared
 * machine is not a trend, while a steady climb is. Exits 1 on an error, a credit not accounted
 * for, or a trend.
 * Not part of `npm test` (test/bench/soak.e2e.test.ts runs it for a few seconds).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import postgres from "postgres"
import { adminUrl, withDatabase } from "../test/support/postgres-url.ts"
import { exited, freePort, waitFor } from "../test/support/service-process.ts"

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    users: { type: "string", default: "6" },
    "imports-per-minute": { type: "string", default: "30" },
    "bucket-seconds": { type: "string", default: "60" },
    "page-latency-ms": { type: "string", default: "100" }
  }
})
const MINUTES = Number(values.minutes)
const USERS = Number(values.users)
const IMPORTS_PER_MINUTE = Number(values["imports-per-minute"])
const BUCKET_MS = Number(values["bucket-seconds"]) * 1000
const ADMIN = `soak-${randomBytes(12).toString("hex")}`
const CREDITS = 1_000_000_000

// --- the service ------------------------------------------------------------------------------

const databaseUrl = process.env.DATABASE_URL
const backend = databaseUrl ? "PostgreSQL" : "PGlite"
const scratchDatabase = `sni_soak_${randomBytes(5).toString("hex")}`
const dataDir = mkdtempSync(join(tmpdir(), "soak-pglite-"))
const adminSql = async (statement: string) => {
  const sql = postgres(adminUrl(databaseUrl!), { max: 1, onnotice: () => {} })
  try {
    await sql.unsafe(statement)
  } finally {
    await sql.end()
  }
}
if (databaseUrl) await adminSql(`create database ${scratchDatabase}`)

const port = await freePort()
const logs: Array<string> = []
const service: ChildProcess = spawn(process.execPath, ["src/main.ts"], {
  env: {
    ...process.env,
    PORT: String(port),
    ADMIN_TOKEN: ADMIN,
    DEMO_USER: "false",
    TASK_ENGINE: "local",
    FAKE_PAGE_LATENCY_MS: values["page-latency-ms"],
    ...(databaseUrl ? { DATABASE_URL: withDatabase(databaseUrl, scratchDatabase) } : { DATABASE_URL: "", PGLITE_DATA_DIR: dataDir })
  },
  stdio: ["ignore", "pipe", "pipe"]
})
const keepLog = (d: Buffer) => {
  logs.push(d.toString())
  if (logs.length > 2000) logs.splice(0, 1000)
}
service.stdout!.on("data", keepLog)
service.stderr!.on("data", keepLog)

/** Resident set size of the service process, in MiB. */
const rssMiB = (): number => {
  try {
    const kib = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${service.pid}/status`, "utf8"))?.[1])
    return kib / 1024
  } catch {
    return Number(execFileSync("ps", ["-o", "rss=", "-p", String(service.pid)]).toString().trim()) / 1024
  }
}

// --- measuring --------------------------------------------------------------------------------

interface Bucket {
  readonly post: Array<number>
  readonly read: Array<number>
  readonly rss: Array<number>
  errors: number
  started: number
  completed: number
}
const emptyBucket = (): Bucket => ({ post: [], read: [], rss: [], errors: 0, started: 0, completed: 0 })
const buckets: Array<Bucket> = []
/** After the last start: the imports still running end, reported apart. */
const drain = emptyBucket()
let begin = Date.now()
let draining = false
const bucket = (): Bucket => {
  if (draining) return drain
  const i = Math.floor((Date.now() - begin) / BUCKET_MS)
  while (buckets.length <= i) buckets.push(emptyBucket())
  return buckets[i]!
}
const errorSamples: Array<string> = []
const error = (what: string) => {
  bucket().errors++
  if (errorSamples.length < 10) errorSamples.push(what)
}

const call = async (kind: "post" | "read" | "setup", method: string, path: string, token: string, json?: unknown) => {
  const started = performance.now()
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(json === undefined ? {} : { "content-type": "application/json" }) },
      ...(json === undefined ? {} : { body: JSON.stringify(json) })
    })
    const body = await response.json() as any
    if (kind !== "setup") bucket()[kind].push(performance.now() - started)
    if (!response.ok) error(`${method} ${path}: ${response.status} ${JSON.stringify(body).slice(0, 200)}`)
    return response.ok ? body : undefined
  } catch (e) {
    error(`${method} ${path}: ${String(e)}`)
    return undefined
  }
}

const quantile = (values: ReadonlyArray<number>, q: number) => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}
const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

// --- the load ---------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** One client following one import: its status and its new rows every second, until it ends. */
const follow = async (token: string, runId: string, listId: string) => {
  let seen = 0
  while (true) {
    await sleep(1000)
    const status = await call("read", "GET", `/api/imports/${runId}`, token)
    const rows = await call("read", "GET", `/api/lists/${listId}/rows?limit=100&offset=${seen}`, token)
    if (rows) seen += rows.rows.length
    if (status && ["completed", "failed", "canceled"].includes(status.status)) {
      if (status.status !== "completed") error(`import ${runId} ${status.status}: ${status.error}`)
      else bucket().completed++
      return
    }
  }
}

let exitCode = 0
try {
  await waitFor("the service to listen", async () => (await fetch(`http://127.0.0.1:${port}/openapi.json`)).ok || undefined, 120_000)
  const users: Array<{ userId: string; token: string }> = []
  for (let i = 0; i < USERS; i++) {
    users.push(await call("setup", "POST", "/api/admin/users", ADMIN, { email: `soak-${i}-${randomBytes(4).toString("hex")}@example.com`, credits: CREDITS, salesNavigator: true }))
  }

  console.log(`soak on ${backend}: ${MINUTES} min, ${USERS} users, ${IMPORTS_PER_MINUTE} imports a minute, pages every ${values["page-latency-ms"]} ms`)
  begin = Date.now()
  const end = begin + MINUTES * 60_000
  const sampler = setInterval(() => bucket().rss.push(rssMiB()), Math.min(5_000, BUCKET_MS / 4))
  const posts: Array<Promise<void>> = []
  const followers: Array<Promise<void>> = []
  for (let n = 0; Date.now() < end; n++) {
    const user = users[n % users.length]!
    const fakeCount = 100 + ((n * 37) % 150)
    const url = `https://www.linkedin.com/sales/search/people?query=(soak-${n}-${randomBytes(3).toString("hex")})&fakeCount=${fakeCount}`
    posts.push(call("post", "POST", "/api/lists/import-sales-nav", user.token, { url, maxResults: fakeCount }).then((started) => {
      if (started) {
        bucket().started++
        followers.push(follow(user.token, started.runId, started.listId))
      }
    }))
    if (n % 10 === 0) void call("read", "GET", "/api/credits", user.token)
    // Steady: the next start at its scheduled time, however long this one took.
    await sleep(Math.max(0, begin + ((n + 1) * 60_000) / IMPORTS_PER_MINUTE - Date.now()))
  }
  draining = true
  await Promise.all(posts)
  await Promise.race([Promise.all(followers), sleep(180_000)])
  clearInterval(sampler)

  // Every credit accounted for: nothing reserved, and the balance is what was granted less what the imports charged.
  const problems: Array<string> = []
  for (const user of users) {
    const credits = await call("setup", "GET", "/api/credits", user.token)
    let charged = 0
    for (let offset = 0;; offset += 100) {
      const page = await call("setup", "GET", `/api/imports?limit=100&offset=${offset}`, user.token)
      charged += page.imports.reduce((sum: number, i: { creditsCharged: number }) => sum + i.creditsCharged, 0)
      if (!page.hasMore) break
    }
    if (credits?.reserved !== 0 || credits?.balance !== CREDITS - charged) {
      problems.push(`user ${user.userId}: ${JSON.stringify(credits)}, charged ${charged} by its imports`)
    }
  }

  // The report.
  const minutes = buckets
  const ms = (v: number) => (Number.isNaN(v) ? "-" : v.toFixed(0))
  console.log(`\n${"min".padStart(5)} ${"RSS MiB".padStart(8)} ${"POST p50/p99 ms".padStart(16)} ${"reads p50/p99 ms".padStart(17)} ${"POSTs".padStart(6)} ${"reads".padStart(6)} ${"errors".padStart(7)} ${"started".padStart(8)} ${"completed".padStart(10)}`)
  const row = (label: string, b: Bucket) =>
    console.log(`${label.padStart(5)} ${(b.rss.length === 0 ? "-" : Math.max(...b.rss).toFixed(0)).padStart(8)} ${`${ms(quantile(b.post, 0.5))}/${ms(quantile(b.post, 0.99))}`.padStart(16)} ${`${ms(quantile(b.read, 0.5))}/${ms(quantile(b.read, 0.99))}`.padStart(17)} ${String(b.post.length).padStart(6)} ${String(b.read.length).padStart(6)} ${String(b.errors).padStart(7)} ${String(b.started).padStart(8)} ${String(b.completed).padStart(10)}`)
  minutes.forEach((b, i) => row(BUCKET_MS === 60_000 ? String(i + 1) : `${((i * BUCKET_MS) / 60_000).toFixed(2)}`, b))
  row("drain", drain)
  const all = [...buckets, drain]
  const errors = all.reduce((n, b) => n + b.errors, 0)
  const completed = all.reduce((n, b) => n + b.completed, 0)
  const started = all.reduce((n, b) => n + b.started, 0)
  console.log(`\nimports: ${started} started, ${completed} completed; errors: ${errors}${errorSamples.length ? `\n  ${errorSamples.join("\n  ")}` : ""}`)
  console.log(problems.length === 0 ? "credits: every credit accounted for (nothing reserved; balance = granted - charged, per user)" : `credits: NOT accounted for\n  ${problems.join("\n  ")}`)

  // Flat: the later half of the minutes (after the first) against the earlier half, median to median.
  const judged = minutes.slice(1).filter((b) => b.rss.length > 0)
  let flat = true
  if (judged.length < 4) {
    console.log("verdict: too short to judge a trend (needs 5 buckets or more)")
  } else {
    const half = Math.floor(judged.length / 2)
    const trend = (name: string, perBucket: (b: Bucket) => number, slack: (earlier: number) => number, unit: string) => {
      const earlier = median(judged.slice(0, half).map(perBucket))
      const later = median(judged.slice(judged.length - half).map(perBucket))
      const ok = later <= earlier + slack(earlier)
      flat &&= ok
      return `${name} ${earlier.toFixed(0)} → ${later.toFixed(0)} ${unit} (${ok ? "flat" : "GROWING"})`
    }
    console.log(`verdict: ${[
      trend("RSS", (b) => Math.max(...b.rss), (e) => e * 0.1, "MiB"),
      trend("POST p99", (b) => quantile(b.post, 0.99), (e) => e * 0.5 + 10, "ms"),
      trend("reads p99", (b) => quantile(b.read, 0.99), (e) => e * 0.5 + 10, "ms")
    ].join("; ")}`)
  }
  exitCode = errors === 0 && problems.length === 0 && flat ? 0 : 1
} catch (e) {
  console.error(`soak failed: ${String(e)}\n--- service output ---\n${logs.join("").slice(-4000)}`)
  exitCode = 1
} finally {
  const gone = exited(service)
  service.kill("SIGTERM")
  await Promise.race([gone, sleep(15_000)])
  if (service.exitCode === null) service.kill("SIGKILL")
  rmSync(dataDir, { recursive: true, force: true })
  if (databaseUrl) await adminSql(`drop database if exists ${scratchDatabase} with (force)`)
}
process.exit(exitCode)
