/**
 * The console's stream reader (src/console/web/stream.js), run in Node against the real server:
 * a connection that drops mid-import is resumed with Last-Event-ID and every row arrives once,
 * in list order; an answer that will not change (another user's run: 404) stops it; so does
 * its signal. The drop is injected where it happens in life, in the network under fetch().
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { readImportStream } from "../../src/console/web/stream.js"
import { makeUser } from "../support/fixtures.ts"
import { allRows, startImport } from "../support/imports.ts"
import { call, client, TestApp } from "../support/server.ts"

const search = (extra: string) => `https://www.linkedin.com/sales/search/people?query=(console-${crypto.randomUUID().slice(0, 8)})${extra}`

/**
 * fetch() whose first stream connection breaks right after its second `rows` message, as a
 * dropped network would — cut inside the chunk if need be, however the server batched its
 * messages; it remembers every request's Last-Event-ID.
 */
const droppingFetch = () => {
  const lastEventIds: Array<string | null> = []
  let dropped = false
  const dropping: typeof fetch = async (input, init) => {
    lastEventIds.push(new Headers(init?.headers).get("last-event-id"))
    const response = await fetch(input, init)
    if (dropped || response.body === null) return response
    dropped = true
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
    const encoder = new TextEncoder()
    let text = ""
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read()
        if (done) return controller.close()
        const before = text.length
        text += value
        const second = [...text.matchAll(/event: rows\n[^]*?\n\n/g)][1]
        if (second === undefined) return controller.enqueue(encoder.encode(value))
        controller.enqueue(encoder.encode(text.slice(before, second.index + second[0].length)))
        await reader.cancel()
        controller.error(new TypeError("network error: connection reset"))
      }
    })
    return new Response(body, { status: response.status, headers: response.headers })
  }
  return { fetch: dropping, lastEventIds }
}

layer(TestApp(), { excludeTestServices: true })("the console's stream reader", (it) => {
  it.effect("a dropped connection resumes with Last-Event-ID: every row once, in list order, then the end", () =>
    Effect.gen(function*() {
      const api = yield* client
      const user = yield* makeUser({ credits: 1_000 })
      const started = (yield* startImport(api, user.token, { url: search("&fakeCount=220&fakeLatencyMs=60"), maxResults: 150 })).body
      const network = droppingFetch()
      const received: Array<{ event: string; data: any }> = []
      const result = yield* call(() =>
        readImportStream(started.runId, {
          token: user.token,
          baseUrl: api.baseUrl,
          signal: AbortSignal.timeout(60_000),
          fetch: network.fetch,
          retryDelayMs: () => 20,
          onMessage: (event, data) => received.push({ event, data })
        })
      )

      expect(result).toEqual({ outcome: "ended", connections: 2 })
      // The second connection named the last event the first one delivered whole.
      expect(network.lastEventIds[0]).toBeNull()
      expect(network.lastEventIds[1]).toMatch(/^\d+\.\d+$/)
      const rows = received.filter((m) => m.event === "rows").flatMap((m) => m.data.rows)
      expect(rows.map((r) => r.id)).toEqual((yield* allRows(api, user.token, started.listId)).map((r) => r.id))
      expect(new Set(rows.map((r) => r.id)).size).toBe(150)
      expect(received.at(-1)).toMatchObject({ event: "end", data: { status: "completed", leadsImported: 150 } })
    }))

  it.effect("another user's run id is refused once, not retried; an aborted signal stops the reader", () =>
    Effect.gen(function*() {
      const api = yield* client
      const owner = yield* makeUser()
      const stranger = yield* makeUser()
      const started = (yield* startImport(api, owner.token, { url: search("&fakeCount=500&fakeLatencyMs=200"), maxResults: 400 })).body
      const refused = yield* call(() =>
        readImportStream(started.runId, { token: stranger.token, baseUrl: api.baseUrl, signal: AbortSignal.timeout(30_000), onMessage: () => {} })
      )
      expect(refused).toEqual({ outcome: "refused", status: 404, connections: 1 })

      const controller = new AbortController()
      const events: Array<string> = []
      const aborted = yield* call(() =>
        readImportStream(started.runId, {
          token: owner.token,
          baseUrl: api.baseUrl,
          signal: controller.signal,
          onMessage: (event) => {
            events.push(event)
            controller.abort()
          }
        })
      )
      expect(aborted.outcome).toBe("aborted")
      expect(events).toEqual(["progress"])
      yield* call(() => api.request("POST", `/api/imports/${started.runId}/cancel`, { token: owner.token }))
    }))
})
