/**
 * GET /api/imports/{runId}/stream (Server-Sent Events), read as a browser's fetch() would:
 * progress at once and on every change, every persisted row exactly once and in list order,
 * end and then the server closes; a forced reconnect with Last-Event-ID misses nothing and
 * repeats nothing; a stream opened after the end replays everything; an idle stream gets
 * keep-alive comments; many streams at once cost one tailer, not a query each per tick.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { ImportFeed } from "../../src/imports/ImportFeed.ts"
import { makeUser } from "../support/fixtures.ts"
import { allRows, awaitImport, type ImportStatusBody, startImport } from "../support/imports.ts"
import { client, TestApp } from "../support/server.ts"
import { readSse, type SseMessage } from "../support/sse.ts"

const search = (extra: string) => `https://www.linkedin.com/sales/search/people?query=(stream-${crypto.randomUUID().slice(0, 8)})${extra}`

const streamUrl = (baseUrl: string, runId: string) => `${baseUrl}/api/imports/${runId}/stream`

const rowsIn = (messages: ReadonlyArray<SseMessage>) => messages.filter((m) => m.event === "rows").flatMap((m) => m.data.rows)

/** Every message's id is the checkpoint it follows: never going back. */
const expectOrderedIds = (messages: ReadonlyArray<SseMessage>) => {
  const ids = messages.map((m) => m.id!.split(".").map(BigInt))
  for (let i = 1; i < ids.length; i++) {
    const [t0, p0] = ids[i - 1]!
    const [t1, p1] = ids[i]!
    expect(t1! > t0! || (t1 === t0 && p1! >= p0!)).toBe(true)
  }
}

layer(TestApp({ STREAM_POLL_MS: "50", STREAM_HEARTBEAT_MS: "200" }), { excludeTestServices: true })("the import stream", (it) => {
  it.effect("live: progress, every row once in list order, end, then closed", () =>
    Effect.gen(function*() {
      const api = yield* client
      const user = yield* makeUser({ credits: 1_000 })
      const started = (yield* startImport(api, user.token, { url: search("&fakeCount=120&fakeLatencyMs=250"), maxResults: 100 })).body
      const read = yield* Effect.promise(() => readSse(streamUrl(api.baseUrl, started.runId), { token: user.token }))

      expect(read.status).toBe(200)
      expect(read.closed).toBe(true)
      expect(read.messages[0]!.event).toBe("progress")
      expect(read.messages.at(-1)!.event).toBe("end")
      expect(read.messages.at(-2)!.event).toBe("progress")
      const end = read.messages.at(-1)!.data as ImportStatusBody
      expect(end).toMatchObject({ status: "completed", leadsImported: 100 })
      // Every row once, in list order: the list's rows as GET /rows serves them.
      expect(rowsIn(read.messages)).toEqual(yield* allRows(api, user.token, started.listId))
      // Progress as it went, not only at the end (a page every 250 ms, the feed every 50 ms).
      const imported = read.messages.filter((m) => m.event === "progress").map((m) => (m.data as ImportStatusBody).leadsImported)
      expect(new Set(imported).size).toBeGreaterThan(2)
      expect([...imported].sort((a, b) => a - b)).toEqual(imported)
      expectOrderedIds(read.messages)
    }))

  it.effect("a forced reconnect with Last-Event-ID: nothing missed, nothing twice", () =>
    Effect.gen(function*() {
      const api = yield* client
      const user = yield* makeUser({ credits: 1_000 })
      const started = (yield* startImport(api, user.token, { url: search("&fakeCount=200&fakeLatencyMs=60"), maxResults: 150 })).body
      const url = streamUrl(api.baseUrl, started.runId)
      // The first connection drops after two batches of rows.
      const first = yield* Effect.promise(() =>
        readSse(url, { token: user.token, stop: (ms) => ms.filter((m) => m.event === "rows").length >= 2 })
      )
      expect(first.closed).toBe(false)
      const lastId = first.messages.at(-1)!.id!
      const second = yield* Effect.promise(() => readSse(url, { token: user.token, lastEventId: lastId }))
      expect(second.closed).toBe(true)
      expect(second.messages.at(-1)!.event).toBe("end")

      const rows = [...rowsIn(first.messages), ...rowsIn(second.messages)]
      expect(rows.map((r) => r.id)).toEqual((yield* allRows(api, user.token, started.listId)).map((r) => r.id))
      expect(new Set(rows.map((r) => r.id)).size).toBe(150)
    }))

  it.effect("opened after the end: replays everything and ends; resumed after the end: ends at once", () =>
    Effect.gen(function*() {
      const api = yield* client
      const user = yield* makeUser({ credits: 1_000 })
      const started = (yield* startImport(api, user.token, { url: search("&fakeCount=60"), maxResults: 50 })).body
      yield* awaitImport(api, user.token, started.runId, started.listId)
      const url = streamUrl(api.baseUrl, started.runId)
      const replay = yield* Effect.promise(() => readSse(url, { token: user.token }))
      expect(replay.closed).toBe(true)
      expect(rowsIn(replay.messages)).toEqual(yield* allRows(api, user.token, started.listId))
      expect(replay.messages.at(-1)).toMatchObject({ event: "end", data: { status: "completed", leadsImported: 50 } })

      const resumed = yield* Effect.promise(() => readSse(url, { token: user.token, lastEventId: replay.messages.at(-1)!.id! }))
      expect(resumed.closed).toBe(true)
      expect(resumed.messages.map((m) => m.event)).toEqual(["progress", "end"])
      expect(rowsIn(resumed.messages)).toEqual([])
    }))

  it.effect("an idle stream gets keep-alive comments; a canceled import's stream ends as canceled", () =>
    Effect.gen(function*() {
      const api = yield* client
      const user = yield* makeUser({ credits: 1_000 })
      // One page every 5 s: the stream idles between pages.
      const started = (yield* startImport(api, user.token, { url: search("&fakeCount=500&fakeLatencyMs=5000"), maxResults: 100 })).body
      const url = streamUrl(api.baseUrl, started.runId)
      const reading = Effect.runPromise(Effect.promise(() => readSse(url, { token: user.token })))
      yield* Effect.sleep("800 millis")
      expect((yield* Effect.promise(() => api.request("POST", `/api/imports/${started.runId}/cancel`, { token: user.token }))).status).toBe(200)
      const read = yield* Effect.promise(() => reading)
      expect(read.comments).toBeGreaterThanOrEqual(2)
      expect(read.closed).toBe(true)
      expect(read.messages.at(-1)).toMatchObject({ event: "end", data: { status: "canceled", cancelRequested: true } })
    }))

  it.effect("another user's run id is 404 and no token is 401, as for every other endpoint", () =>
    Effect.gen(function*() {
      const api = yield* client
      const owner = yield* makeUser({ credits: 1_000 })
      const other = yield* makeUser()
      const started = (yield* startImport(api, owner.token, { url: search("&fakeCount=10"), maxResults: 5 })).body
      const url = streamUrl(api.baseUrl, started.runId)
      expect((yield* Effect.promise(() => readSse(url, { token: other.token }))).status).toBe(404)
      expect((yield* Effect.promise(() => readSse(url))).status).toBe(401)
    }))

  it.effect("40 streams on 4 imports at once: each gets its import's rows exactly once; one tailer serves them all", () =>
    Effect.gen(function*() {
      const api = yield* client
      const feed = yield* ImportFeed
      const user = yield* makeUser({ credits: 10_000 })
      const started = yield* Effect.forEach(Array.from({ length: 4 }), () =>
        Effect.map(startImport(api, user.token, { url: search("&fakeCount=100&fakeLatencyMs=100"), maxResults: 75 }), (r) => r.body))
      const pollsBefore = yield* feed.polls
      const t0 = Date.now()
      const reads = yield* Effect.forEach(
        Array.from({ length: 40 }, (_, i) => started[i % 4]!),
        // A generous deadline: the four imports share one account, so they run one after another.
        (s) => Effect.promise(() => readSse(streamUrl(api.baseUrl, s.runId), { token: user.token, timeoutMs: 120_000 })),
        { concurrency: "unbounded" }
      )
      const elapsed = Date.now() - t0
      for (const [i, read] of reads.entries()) {
        const s = started[i % 4]!
        expect(read.messages.at(-1)!.event).toBe("end")
        expect(rowsIn(read.messages).map((r) => r.id)).toEqual((yield* allRows(api, user.token, s.listId)).map((r) => r.id))
      }
      // One read of the log per tick for all 40 streams (not 40): at most one per 50 ms tick, with slack.
      const polls = (yield* feed.polls) - pollsBefore
      expect(polls).toBeLessThanOrEqual(Math.ceil(elapsed / 50) + 5)
    }))
})
