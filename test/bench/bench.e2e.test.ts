/**
 * `npm run bench` (bench/index.ts) for a few seconds, so it cannot rot: the POST section (the
 * real service, autocannon, the node:http floor) and the append section (pgbench on PostgreSQL)
 * run on this backend with 1-second loads, print their tables and write their results, and every
 * POST the service answered was a 200, with the CPU it cost. And `bench/post-statements.ts`
 * still counts what a POST sends the database: one statement once the token is cached.
 */
import { describe, expect, it } from "@effect/vitest"
import { execFile, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { backend } from "../support/db.ts"

describe(`the bench script (${backend})`, () => {
  it("measures the POST and the append beside their floors", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-smoke-"))
    const results = join(dir, "results.json")
    try {
      const child = spawn(process.execPath, ["bench/index.ts", "--quick", "--only", "post,append"], {
        cwd: process.cwd(),
        env: { ...process.env, BENCH_SECONDS: "1", BENCH_RESULTS: results },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let output = ""
      child.stdout.on("data", (d: Buffer) => (output += d.toString()))
      child.stderr.on("data", (d: Buffer) => (output += d.toString()))
      const code = await new Promise<number | null>((resolve) => child.on("exit", resolve))
      expect(code, output).toBe(0)
      expect(output).toMatch(process.env.DATABASE_URL ? /PostgreSQL \(DATABASE_URL/ : /DATABASE_URL is not set — PGlite only/)
      expect(output).toContain("| section | backend | measure | result | floor (same run) | ratio | target |")
      const written = JSON.parse(readFileSync(results, "utf8")) as {
        results: Record<string, Array<{ data: { service?: { requests: number; non200: number; cpu: { process: number; database: number }; walKb: number }; floor?: { walKb: number } } }>>
      }
      expect(written.results.post).toHaveLength(3)
      // At 1 connection something is answered within the second; under 32 on a busy PGlite, maybe
      // nothing is (autocannon drops what is still in flight at the end), but nothing may fail.
      expect(written.results.post![0]!.data.service!.requests, output).toBeGreaterThan(0)
      for (const row of written.results.post!) expect(row.data.service!.non200, output).toBe(0)
      // The CPU each request cost: the server's, and on PostgreSQL its backends' (from /proc).
      const cpu = written.results.post![0]!.data.service!.cpu
      expect(cpu.process, output).toBeGreaterThan(0)
      if (process.env.DATABASE_URL) expect(cpu.database, output).toBeGreaterThan(0)
      else expect(cpu.database, output).toBe(0)
      // And the WAL each request cost the server, on PostgreSQL: the service's and its floor's.
      const { service, floor } = written.results.post![0]!.data
      if (process.env.DATABASE_URL) {
        expect(service!.walKb, output).toBeGreaterThan(0)
        expect(floor!.walKb, output).toBeGreaterThan(0)
      } else expect(service!.walKb, output).toBe(0)
      expect(written.results.append).toHaveLength(2)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 420_000)

  it("counts one statement for a POST (bench/post-statements.ts)", async () => {
    const output = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ["bench/post-statements.ts"], { cwd: process.cwd() }, (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout))
    )
    expect(output).toMatch(/^POST: 1 statements$/m)
    expect(output).toMatch(/^POST with an Idempotency-Key: 1 statements$/m)
    // The first POST reads the token (and the engine starts): more than the cached ones.
    expect(Number(/^first POST[^:]*: (\d+) statements$/m.exec(output)?.[1])).toBeGreaterThan(1)
  }, 120_000)
})
