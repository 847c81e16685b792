/**
 * The support CLI as support staff run it: `node src/cli/support.ts …` in a child process
 * against a real server. Every command and its help, tables within 100 columns, JSON that
 * matches the API, --follow tailing new events, a rebuild with its progress on stderr, and
 * every error as one line with a non-zero exit code.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { makeUser } from "../support/fixtures.ts"
import { freePort } from "../support/service-process.ts"
import { awaitImport, startImport } from "../support/imports.ts"
import { call, type Client, client, SUPPORT_TOKEN, TestApp } from "../support/server.ts"

interface Run {
  readonly code: number
  readonly out: Array<string>
  readonly err: Array<string>
}

const lines = (text: string) => text.split("\n").filter((l) => l !== "")

/** Starts the CLI; its output as it comes, and its exit. */
const start = (api: Client, args: ReadonlyArray<string>) => {
  const child: ChildProcess = spawn(process.execPath, ["src/cli/support.ts", ...args], {
    env: { ...process.env, SUPPORT_URL: api.baseUrl, SUPPORT_TOKEN }
  })
  const out: Array<string> = []
  const err: Array<string> = []
  child.stdout!.on("data", (d: Buffer) => out.push(d.toString()))
  child.stderr!.on("data", (d: Buffer) => err.push(d.toString()))
  const exit = new Promise<Run>((resolve) =>
    child.once("exit", (code) => resolve({ code: code ?? 1, out: lines(out.join("")), err: lines(err.join("")) }))
  )
  return { child, out, err, exit }
}

/** Waits (up to a minute) until `text` holds what `done` looks for. */
const until = (text: Array<string>, done: (all: string) => boolean) =>
  Effect.gen(function*() {
    const deadline = Date.now() + 60_000
    while (!done(text.join("")) && Date.now() < deadline) yield* Effect.sleep("50 millis")
    return text.join("")
  })

/** Runs the CLI to its end. */
const cli = (api: Client, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.promise(() =>
    new Promise<Run>((resolve) => {
      execFile(
        process.execPath,
        ["src/cli/support.ts", ...args],
        { env: { ...process.env, SUPPORT_URL: api.baseUrl, SUPPORT_TOKEN, ...env }, timeout: 60_000 },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, out: lines(stdout), err: lines(stderr) })
      )
    })
  )

const within100 = (run: Run) => expect([...run.out, ...run.err].filter((l) => l.length > 100)).toEqual([])

layer(TestApp({ REBUILD_BATCH_SIZE: "3", REBUILD_MAX_EVENTS_PER_SECOND: "3" }), { excludeTestServices: true })("the support CLI", (it) => {
  it.effect("has help for itself and every command, within 100 columns", () =>
    Effect.gen(function*() {
      const api = yield* client
      const help = yield* cli(api, ["--help"])
      expect(help.code).toBe(0)
      for (const name of ["events", "import", "projections", "rebuild", "rows"]) expect(help.out.join("\n")).toMatch(new RegExp(`^  ${name} `, "m"))
      within100(help)
      const names = ["events", "import", "projections", "rebuild", "rows"]
      const helps = yield* Effect.forEach(names, (name) => cli(api, [name, "--help"]), { concurrency: 3 })
      for (const [i, own] of helps.entries()) {
        expect(own.code, names[i]).toBe(0)
        expect(own.out[0], names[i]).toMatch(new RegExp(`^Usage: npm run support -- ${names[i]}`))
        within100(own)
      }
      expect((yield* cli(api, ["help", "rows"])).out).toEqual(helps[4]!.out)
    }))

  it.effect("shows an import, its events, the projections and a list's rows as of a position", () =>
    Effect.gen(function*() {
      const api = yield* client
      const user = yield* makeUser()
      const url = `https://www.linkedin.com/sales/search/people?query=(cli-${crypto.randomUUID().slice(0, 8)})&fakeCount=60`
      const started = yield* startImport(api, user.token, { url, maxResults: 100 })
      const { runId, listId } = started.body
      const { status } = yield* awaitImport(api, user.token, runId, listId)

      const timeline = yield* cli(api, ["import", runId])
      expect(timeline.code).toBe(0)
      expect(timeline.out[0]).toContain(runId)
      for (const page of [1, 2, 3]) expect(timeline.out.join("\n")).toMatch(new RegExp(`PageFetched +page ${page}: `))
      within100(timeline)
      const json = yield* cli(api, ["import", runId, "--json"])
      expect(JSON.parse(json.out[0]!)).toEqual((yield* call(() => api.request("GET", `/api/support/imports/${runId}`, { token: SUPPORT_TOKEN }))).body)

      const all = (yield* call(() => api.request("GET", `/api/imports/${runId}/events`, { token: user.token }))).body.events as Array<any>
      const jsonEvents = yield* cli(api, ["events", "--run", runId, "--json", "--limit", "1000"])
      expect(jsonEvents.out.map((l) => JSON.parse(l).eventId).sort()).toEqual(all.map((e) => e.eventId).sort())
      const table = yield* cli(api, ["events", "--run", runId, "--limit", "1000"])
      expect(table.out[0]).toMatch(/^POSITION +TIME \(UTC\) +TYPE +STREAM +SUMMARY$/)
      expect(table.out.length).toBe(all.length + 1)
      within100(table)
      // A cut-off says where to go on; going on from there prints the rest.
      const head = yield* cli(api, ["events", "--run", runId, "--limit", "3", "--json"])
      expect(head.out.length).toBe(3)
      const after = /--after (\d+)/.exec(head.err.join("\n"))![1]!
      const rest = yield* cli(api, ["events", "--run", runId, "--after", after, "--limit", "1000", "--json"])
      expect([...head.out, ...rest.out].map((l) => JSON.parse(l).eventId).sort()).toEqual(all.map((e) => e.eventId).sort())
      const types = yield* cli(api, ["events", "--run", runId, "--type", "PageFetched,CreditsCharged", "--type", "ImportCompleted", "--json"])
      expect(types.out.map((l) => JSON.parse(l).type).sort()).toEqual([...Array(3).fill("CreditsCharged"), "ImportCompleted", ...Array(3).fill("PageFetched")])

      const projections = yield* cli(api, ["projections"])
      expect(projections.out[0]).toMatch(/^NAME +VERSION +STATUS +LAG +REBUILD$/)
      expect(projections.out.slice(1).map((l) => l.split(/ +/)[0])).toEqual(["lists", "credits", "list-rows", "lead-index", "import-progress"])

      const batch = JSON.parse(jsonEvents.out.find((l) => JSON.parse(l).type === "BatchPersisted")!)
      const n = batch.data.rows.length
      const rows = yield* cli(api, ["rows", listId, "--as-of", batch.position])
      expect(rows.code).toBe(0)
      expect(rows.out[0]).toBe(`${n} rows as of ${batch.position} (showing 1–${n})`)
      expect(rows.out.length).toBe(n + 2)
      within100(rows)
      const rowsJson = yield* cli(api, ["rows", listId, "--as-of", new Date().toISOString(), "--limit", "500", "--json"])
      expect(rowsJson.out.length).toBe(status.leadsImported)
    }))

  it.effect("follows new events as they are appended", () =>
    Effect.gen(function*() {
      const api = yield* client
      const user = yield* makeUser()
      const follower = start(api, ["events", "--user", user.userId, "--follow", "--json"])
      try {
        // It follows from the moment it starts: wait for it to say so before appending.
        expect(yield* until(follower.err, (e) => e.includes("Ctrl-C ends"))).toMatch(/^following the log from \S+; Ctrl-C ends$/m)
        const url = `https://www.linkedin.com/sales/search/people?query=(follow-${crypto.randomUUID().slice(0, 8)})`
        const started = yield* startImport(api, user.token, { url, maxResults: 50 })
        yield* awaitImport(api, user.token, started.body.runId, started.body.listId)
        yield* until(follower.out, (o) => o.includes("\"ImportCompleted\""))
        const seen = lines(follower.out.join("")).map((l) => JSON.parse(l))
        expect(seen.map((e) => e.type)).toContain("ImportCompleted")
        // It started at "now": the user's credit grant came before and is not shown.
        expect(seen.map((e) => e.type)).not.toContain("CreditsGranted")
        expect(new Set(seen.map((e) => e.eventId)).size).toBe(seen.length)
      } finally {
        follower.child.kill("SIGKILL")
      }
    }))

  it.effect("rebuilds a projection, or follows the rebuild already running, with progress on stderr", () =>
    Effect.gen(function*() {
      const api = yield* client
      const started = yield* cli(api, ["rebuild", "lists"])
      expect(started.code).toBe(0)
      expect(started.err[0]).toBe("rebuilding lists into version 2")
      expect(started.out).toEqual([expect.stringMatching(/^rebuilt lists: version 2 serves \(\d+\.\d s\)$/)])
      within100(started)

      // Throttled to 3 events a second, the replay of the import progress so far takes some 10 s.
      const running = yield* call(() => api.request("POST", "/api/support/projections/import-progress/rebuild", { token: SUPPORT_TOKEN }))
      expect(running.status).toBe(202)
      const follower = yield* cli(api, ["rebuild", "import-progress"])
      expect(follower.code).toBe(0)
      expect(follower.err[0]).toBe("a rebuild of import-progress (version 2) is already running; following it")
      expect(follower.err.slice(1).join("\n")).toMatch(/^import-progress v2: +\d+%  [\d,]+\/[\d,]+ events  [\d,]+ events\/s  ETA [\d:?]+$/m)
      expect(follower.out).toEqual([expect.stringMatching(/^rebuilt import-progress: version 2 serves \(\d+\.\d s\)$/)])
      within100(follower)
      const states = (yield* call(() => api.request("GET", "/api/support/projections", { token: SUPPORT_TOKEN }))).body.projections
      expect(states.map((p: any) => [p.name, p.version, p.status])).toEqual([
        ["lists", 2, "live"],
        ["credits", 1, "live"],
        ["list-rows", 1, "live"],
        ["lead-index", 1, "live"],
        ["import-progress", 2, "live"]
      ])
    }))

  it.effect("says what went wrong in one line, with a non-zero exit code", () =>
    Effect.gen(function*() {
      const api = yield* client
      const closed = yield* Effect.promise(freePort)
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, Record<string, string>, number, RegExp]> = [
        [["bogus"], {}, 2, /^support: unknown command bogus; commands: events, import, projections, rebuild, rows/],
        [["events", "--limit", "0"], {}, 2, /^support: events: --limit must be a whole number from 1$/],
        [["events", "--nope"], {}, 2, /^support: events: Unknown option '--nope'/],
        [["rows", crypto.randomUUID()], {}, 2, /^support: rows: --as-of <time\|position> is required/],
        [["import"], {}, 2, /^support: import: missing or extra arguments/],
        [["import", "run_0000000000000000nothing"], {}, 1, /^support: 404 IMPORT_NOT_FOUND: No import has this runId$/],
        [["rows", crypto.randomUUID(), "--as-of", "yesterday"], {}, 1, /^support: 400 VALIDATION_FAILED: .*asOf/],
        [["rebuild", "nope"], {}, 1, /^support: 404 PROJECTION_NOT_FOUND: no projection is named nope/],
        [["projections"], { SUPPORT_TOKEN: "not-it" }, 1, /^support: 401 UNAUTHORIZED: Missing or wrong support token$/],
        [["projections"], { SUPPORT_TOKEN: "" }, 1, /^support: SUPPORT_TOKEN is not set/],
        [["projections"], { SUPPORT_URL: `http://127.0.0.1:${closed}` }, 1, /^support: cannot reach the service at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/]
      ]
      const runs = yield* Effect.forEach(cases, ([args, env]) => cli(api, args, env), { concurrency: 3 })
      for (const [i, [args, , code, message]] of cases.entries()) {
        const run = runs[i]!
        expect(run.code, args.join(" ")).toBe(code)
        expect(run.out, args.join(" ")).toEqual([])
        expect(run.err.length, args.join(" ")).toBe(1)
        expect(run.err[0], args.join(" ")).toMatch(message)
      }
    }))
})
