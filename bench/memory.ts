/**
 * Section `memory`: the service as a process of its own (`node src/main.ts`, as `npm start` runs it).
 * The process gets the Node options `npm start` gives it (package.json), so it is measured as deployed.
 * - idle RSS: started, answering on its port, then left alone 5 s; VmRSS from /proc. On PostgreSQL
 *   (a scratch database) and on PGlite with its data on disk as by default (a temporary
 *   PGLITE_DATA_DIR): its first start, which creates the database (initdb runs in the process),
 *   then a restart over the same directory, as a service runs most of its life.
 * - peak RSS during 20 concurrent imports of 2,500 leads (--quick: 500; PGlite: 250 / 500),
 *   started through the HTTP API by 20 users made with the admin API (fake source without
 *   latency, LOCAL_ENGINE_CONCURRENCY 20), sampled every 100 ms and reported at ¼, ½ and all of
 *   the leads imported: flat memory means the same figure at each. (--quick with DATABASE_URL:
 *   PGlite's idle figure only.)
 * No floor: the targets are absolute (idle < 150 MB PostgreSQL, < 300 MB PGlite; peak < 300 MB).
 */
import type { ChildProcess } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { api, exited, freePort, startService, waitFor } from "../test/support/service-process.ts"
import { type Backend, fmt, type Options, type Row, rssMb, rssSampler, sleep, withScratch } from "./lib.ts"

const IMPORTS = 20

/** The Node options of `npm start` ("node <options> src/main.ts" in package.json). */
export const startOptions = (): Array<string> => {
  const start: string = JSON.parse(readFileSync("package.json", "utf8")).scripts.start
  const words = start.trim().split(/\s+/)
  return words.slice(1, words.indexOf("src/main.ts"))
}
const ADMIN = `bench-admin-${randomBytes(12).toString("hex")}`

/** SIGTERM, then SIGKILL if it is still running 15 s later. */
export const stop = async (child: ChildProcess) => {
  child.kill("SIGTERM")
  await Promise.race([exited(child), sleep(15_000)])
  if (child.exitCode === null) child.kill("SIGKILL")
}

/** How the service starts: PostgreSQL at this URL, or PGlite over this data directory (first start or restart). */
type Start = { readonly databaseUrl: string } | { readonly dataDir: string; readonly first: boolean }

const measure = async (backend: Backend, options: Options, start: Start, idleOnly = false): Promise<Array<Row>> => {
  const leads = backend === "PGlite" ? (options.quick ? 250 : 500) : options.quick ? 500 : 2500
  const port = await freePort()
  const output: Array<string> = []
  const child = startService({
    PORT: String(port),
    ADMIN_TOKEN: ADMIN,
    DEMO_USER: "false",
    TASK_ENGINE: "local",
    LOCAL_ENGINE_CONCURRENCY: String(IMPORTS),
    FAKE_PAGE_LATENCY_MS: "0",
    IMPORT_RATE_PER_MINUTE: "0",
    ...("databaseUrl" in start ? { DATABASE_URL: start.databaseUrl } : { DATABASE_URL: "", PGLITE_DATA_DIR: start.dataDir })
  }, output, startOptions())
  const call = api(port)
  try {
    await waitFor("the service's port", async () => ((await call("GET", "/api/credits")).status === 401 ? true : undefined), 120_000)
    await sleep(5000)
    const idle = rssMb(child.pid!)
    const when = "dataDir" in start ? (start.first ? ", first start: creates its database" : ", restarted over its data") : ""
    console.error(`memory ${backend}: idle RSS${when} ${fmt(idle)} MB`)
    const idleRow: Row = {
      section: "memory",
      backend,
      measure: `idle RSS of the service (as npm start runs it, 5 s after its port answers${when})`,
      value: `${fmt(idle)} MB`,
      target: backend === "PostgreSQL" ? "< 150 MB" : "< 300 MB",
      data: { idleMb: idle }
    }
    if (idleOnly) return [idleRow]
    const users = await Promise.all(Array.from({ length: IMPORTS }, async () => {
      const made = await call("POST", "/api/admin/users", ADMIN, { email: `mem-${randomBytes(6).toString("hex")}@example.com`, credits: leads, salesNavigator: true })
      if (made.status !== 200) throw new Error(`admin createUser: ${made.status} ${JSON.stringify(made.body)}`)
      return made.body as { userId: string; token: string }
    }))
    const sampler = rssSampler(100, child.pid!)
    const started = performance.now()
    const runs = await Promise.all(users.map(async (u) => {
      const r = await call("POST", "/api/lists/import-sales-nav", u.token, {
        url: `https://www.linkedin.com/sales/search/people?query=(mem-${randomBytes(4).toString("hex")})`,
        maxResults: leads
      })
      if (r.status !== 200) throw new Error(`POST: ${r.status} ${JSON.stringify(r.body)}`)
      return { token: u.token, runId: (r.body as { runId: string }).runId }
    }))
    const total = IMPORTS * leads
    const marks: Array<{ share: string; imported: number; peak: number; now: number }> = []
    const milestones = [0.25, 0.5]
    for (;;) {
      const statuses = await Promise.all(runs.map((r) => call("GET", `/api/imports/${r.runId}`, r.token)))
      const imported = statuses.reduce((a, s) => a + Number(s.body?.leadsImported ?? 0), 0)
      const done = statuses.every((s) => ["completed", "failed", "canceled"].includes(s.body?.status))
      while (milestones.length > 0 && imported >= milestones[0]! * total) {
        marks.push({ share: milestones[0] === 0.25 ? "¼" : "½", imported, peak: sampler.peak, now: rssMb(child.pid!) })
        milestones.shift()
      }
      if (done) {
        marks.push({ share: "all", imported, peak: sampler.peak, now: rssMb(child.pid!) })
        break
      }
      if (performance.now() - started > 900_000) throw new Error("the imports did not end within 15 minutes")
      await sleep(250)
    }
    sampler.stop()
    const took = (performance.now() - started) / 1000
    const peakLine = marks.map((m) => `${m.share} ${fmt(m.peak)}`).join(", ")
    console.error(`memory ${backend}: peak RSS during ${IMPORTS} imports: ${peakLine} MB (${fmt(took, 1)} s)`)
    return [
      idleRow,
      {
        section: "memory",
        backend,
        measure: `peak RSS during ${IMPORTS} concurrent imports of ${fmt(leads)} leads (at ¼, ½, all of the leads)`,
        value: `${peakLine} MB (${fmt(marks.at(-1)!.imported)} leads in ${fmt(took, 1)} s)`,
        target: "< 300 MB, flat",
        data: { leadsEach: leads, seconds: took, marks }
      }
    ]
  } catch (error) {
    console.error(output.slice(-20).join(""))
    throw error
  } finally {
    await stop(child)
  }
}

export const runMemory = async (options: Options): Promise<Array<Row>> => {
  const rows: Array<Row> = []
  if (options.databaseUrl) {
    rows.push(...await withScratch(options.databaseUrl, "memory", (databaseUrl) => measure("PostgreSQL", options, { databaseUrl })))
  }
  const dataDir = mkdtempSync(join(tmpdir(), "sni-bench-pglite-"))
  try {
    rows.push(...await measure("PGlite", options, { dataDir, first: true }, true))
    // --quick with PostgreSQL: PGlite's idle figures only (its imports are the slow part).
    rows.push(...await measure("PGlite", options, { dataDir, first: false }, options.quick && options.databaseUrl !== undefined))
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
  return rows
}
