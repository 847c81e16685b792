/**
 * A request that reaches the server after it listens but before the app's handler is
 * attached (start-up work runs in between) is held and answered once the handler comes —
 * not left waiting forever, as node:http does with no "request" listener.
 */
import { describe, expect, it } from "@effect/vitest"
import type { AddressInfo } from "node:net"
import { createServer } from "../../src/http/clientErrors.ts"

describe("requests that arrive before the app is attached", () => {
  it("are held, then answered by the handler attached later", async () => {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const { port } = server.address() as AddressInfo
    try {
      const early = [1, 2, 3].map((n) => fetch(`http://127.0.0.1:${port}/early/${n}`).then((r) => r.text()))
      // Let them reach the server and wait there with no handler.
      await new Promise((resolve) => setTimeout(resolve, 200))
      const seen: Array<string> = []
      server.on("request", (request, response) => {
        seen.push(request.url!)
        response.end(`answered ${request.url}`)
      })
      expect(await Promise.all(early)).toEqual(["answered /early/1", "answered /early/2", "answered /early/3"])
      expect([...seen].sort()).toEqual(["/early/1", "/early/2", "/early/3"])
      // Later requests go straight to the handler; nothing is held any more.
      expect(await (await fetch(`http://127.0.0.1:${port}/later`)).text()).toBe("answered /later")
      expect(server.listenerCount("request")).toBe(1)
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
