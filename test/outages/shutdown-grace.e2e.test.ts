/**
 * The shutdown's guarantee, whatever hangs: a process that cannot finish stopping exits when
 * SHUTDOWN_GRACE_MS is over, non-zero, naming the imports it abandoned; a second signal ends it
 * at once; a shutdown that finishes in time exits 0 without waiting for the grace period.
 * (postgres-outage.e2e.test.ts shows the real service stopping with its database down.)
 */
import { describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import { exited, waitFor } from "../support/service-process.ts"

const start = (env: Record<string, string>) => {
  const output: Array<string> = []
  const child = spawn(process.execPath, ["test/outages/fixtures/stopping-service.ts"], {
    cwd: process.cwd(),
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  child.stdout.on("data", (d: Buffer) => output.push(d.toString()))
  child.stderr.on("data", (d: Buffer) => output.push(d.toString()))
  const ready = waitFor("the process", async () => output.join("").includes("ready") ? true : undefined, 30_000)
  return { child, output, ready }
}

/** Sends `signal` and resolves with the milliseconds until the process has exited. */
const stopTime = async (child: ReturnType<typeof start>["child"], signal: NodeJS.Signals = "SIGTERM") => {
  const gone = exited(child)
  const at = performance.now()
  child.kill(signal)
  await gone
  return performance.now() - at
}

describe("shutdown grace period", () => {
  it("a shutdown that cannot finish ends at the grace period, exit 1, saying which imports it abandoned", async () => {
    const p = start({ STUCK: "1", SHUTDOWN_GRACE_MS: "1500" })
    try {
      await p.ready
      const ms = await stopTime(p.child)
      expect(ms).toBeGreaterThanOrEqual(1_400)
      expect(ms).toBeLessThan(1_500 + 10_000)
      expect(p.child.exitCode).toBe(1)
      expect(p.output.join("")).toMatch(/still stopping \d+ ms after SIGTERM.*Abandoned: import 0b7e-stuck \(local run run_fixture0+\)/s)
    } finally {
      p.child.kill("SIGKILL")
    }
  })

  it("a second signal ends a stuck shutdown at once", async () => {
    const p = start({ STUCK: "1", SHUTDOWN_GRACE_MS: "600000" })
    try {
      await p.ready
      const gone = exited(p.child)
      const at = performance.now()
      p.child.kill("SIGINT")
      await new Promise((r) => setTimeout(r, 200))
      p.child.kill("SIGINT")
      await gone
      expect(performance.now() - at).toBeLessThan(10_000)
      expect(p.child.exitCode).toBe(1)
      expect(p.output.join("")).toMatch(/after SIGINT.*Abandoned: import 0b7e-stuck/s)
    } finally {
      p.child.kill("SIGKILL")
    }
  })

  it("a shutdown that finishes exits 0 at once, without waiting for the grace period", async () => {
    const p = start({ STUCK: "0", SHUTDOWN_GRACE_MS: "600000" })
    try {
      await p.ready
      expect(await stopTime(p.child)).toBeLessThan(10_000)
      expect(p.child.exitCode).toBe(0)
      expect(p.output.join("")).not.toMatch(/Abandoned/)
    } finally {
      p.child.kill("SIGKILL")
    }
  })
})
