/**
 * bench/delay-proxy.ts, so the diagnostic cannot rot: it relays a TCP conversation both ways, in
 * order and intact, and a round trip through it takes at least twice its delay.
 */
import { describe, expect, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import { connect, createServer, type AddressInfo, type Server } from "node:net"
import { freePort } from "../support/service-process.ts"

const DELAY_MS = 40

const listening = (server: Server) =>
  new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)))

/** Waits for the proxy's start line on stderr. */
const started = (child: ChildProcess) =>
  new Promise<void>((resolve, reject) => {
    child.stderr!.on("data", (d: Buffer) => d.toString().includes("delay proxy:") && resolve())
    child.on("exit", (code) => reject(new Error(`delay proxy exited with ${code}`)))
  })

describe("bench/delay-proxy.ts", () => {
  it("relays both ways in order, each way after its delay", async () => {
    // Upstream: answers every line with the line upper-cased.
    const upstream = createServer((socket) => {
      let pending = ""
      socket.on("data", (d) => {
        pending += d.toString()
        let end: number
        while ((end = pending.indexOf("\n")) >= 0) {
          socket.write(pending.slice(0, end).toUpperCase() + "\n")
          pending = pending.slice(end + 1)
        }
      })
    })
    const upstreamPort = await listening(upstream)
    const port = await freePort()
    const proxy = spawn(process.execPath, ["bench/delay-proxy.ts", String(port), String(DELAY_MS), `127.0.0.1:${upstreamPort}`], {
      stdio: ["ignore", "ignore", "pipe"]
    })
    try {
      await started(proxy)
      const client = connect(port, "127.0.0.1")
      let received = ""
      const lines = Array.from({ length: 50 }, (_, i) => `line ${i}`)
      const sentAt = performance.now()
      const answered = new Promise<number>((resolve) =>
        client.on("data", (d) => {
          received += d.toString()
          if (received.split("\n").length > lines.length) resolve(performance.now())
        })
      )
      // Many small writes: their order must survive the timers.
      for (const line of lines) client.write(line + "\n")
      const answeredAt = await answered
      expect(received).toBe(lines.map((l) => l.toUpperCase() + "\n").join(""))
      expect(answeredAt - sentAt).toBeGreaterThanOrEqual(2 * DELAY_MS - 2)
      client.destroy()
    } finally {
      proxy.kill()
      upstream.close()
    }
  })
})
