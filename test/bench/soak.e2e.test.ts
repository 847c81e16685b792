/**
 * The soak script (`npm run soak`, bench/soak.ts) run for a few seconds, so it cannot rot: it
 * starts the real service on this backend, drives imports, reports a row per interval, finds
 * every credit accounted for and exits 0. (Too short for its flatness verdict.)
 */
import { describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import { backend } from "../support/db.ts"

describe(`the soak script (${backend})`, () => {
  it("runs a few seconds of steady imports and reports them", async () => {
    const child = spawn(process.execPath, [
      "bench/soak.ts", "--minutes", "0.1", "--bucket-seconds", "3", "--users", "2", "--imports-per-minute", "40", "--page-latency-ms", "10"
    ], { cwd: process.cwd(), env: process.env, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout.on("data", (d: Buffer) => (output += d.toString()))
    child.stderr.on("data", (d: Buffer) => (output += d.toString()))
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve))
    expect(code, output).toBe(0)
    expect(output).toMatch(/RSS MiB\s+POST p50\/p99 ms/)
    const rows = output.split("\n").filter((line) => /^\s+\d+\.\d{2}\s+\d+\s+\d+\/\d+/.test(line))
    expect(rows.length, output).toBeGreaterThanOrEqual(1)
    expect(output).toMatch(/imports: [1-9]\d* started, [1-9]\d* completed; errors: 0/)
    expect(output).toContain("credits: every credit accounted for")
    expect(output).toContain("verdict: too short to judge")
  }, 180_000)
})
