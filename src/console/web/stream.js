// @ts-check
/**
 * Live progress of an import: GET /api/imports/{runId}/stream (Server-Sent Events) read with
 * fetch() and a stream reader, because EventSource cannot send an Authorization header. A
 * dropped connection is resumed with Last-Event-ID, so nothing is missed or repeated.
 *
 * A browser opens at most six connections to one server, so each import has at most one
 * stream, shared by everyone who listens to it (the imports list, the rows view).
 */
import { createSseParser } from "./model.js"

/** @typedef {(event: string, data: any) => void} Listener */

/** Waits, or less if `signal` aborts. @param {number} ms @param {AbortSignal} signal */
const pause = (ms, signal) =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener("abort", () => {
      clearTimeout(timer)
      resolve(undefined)
    }, { once: true })
  })

/** Half a second after the first drop, doubling to 10 s while nothing comes through. @param {number} failures */
const retryDelay = (failures) => Math.min(10_000, 500 * 2 ** failures)

/**
 * Reads one import's stream, reconnecting with Last-Event-ID whenever the connection drops or
 * the server goes away, until the `end` event, an answer that will not change (401, 404…), or
 * `signal` aborts. Plain module code: the tests run it in Node against the real server.
 * @param {string} runId
 * @param {{
 *   token: string, signal: AbortSignal, onMessage: Listener,
 *   baseUrl?: string, fetch?: typeof fetch, retryDelayMs?: (failures: number) => number
 * }} options
 * @returns {Promise<{ outcome: "ended" | "aborted" | "refused", status?: number, connections: number }>}
 */
export const readImportStream = async (runId, options) => {
  const { signal, onMessage } = options
  const fetchStream = options.fetch ?? fetch
  const delay = options.retryDelayMs ?? retryDelay
  /** @type {string | undefined} */
  let lastEventId
  let failures = 0
  let connections = 0
  while (!signal.aborted) {
    try {
      /** @type {Record<string, string>} */
      const headers = { accept: "text/event-stream", authorization: `Bearer ${options.token}` }
      if (lastEventId !== undefined) headers["last-event-id"] = lastEventId
      connections++
      const response = await fetchStream(`${options.baseUrl ?? ""}/api/imports/${encodeURIComponent(runId)}/stream`, {
        headers,
        signal,
        cache: "no-store"
      })
      // 4xx other than 429 will answer the same next time: stop. 429 and 5xx are worth a retry.
      if (response.status >= 400 && response.status < 500 && response.status !== 429) {
        await response.body?.cancel()
        return { outcome: "refused", status: response.status, connections }
      }
      if (response.ok && response.body !== null) {
        // A new parser per connection: a message cut by the drop is read again whole.
        const parser = createSseParser()
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          for (const message of parser.push(value)) {
            failures = 0
            if (message.id !== undefined) lastEventId = message.id
            onMessage(message.event, JSON.parse(message.data))
            if (message.event === "end") {
              await reader.cancel()
              return { outcome: "ended", connections }
            }
          }
        }
      } else {
        await response.body?.cancel()
      }
    } catch {
      // The connection dropped (or never opened): resumed below unless we were told to stop.
    }
    if (signal.aborted) break
    await pause(delay(failures++), signal)
  }
  return { outcome: "aborted", connections }
}

/** @type {Map<string, { listeners: Set<Listener>, controller: AbortController }>} */
const streams = new Map()

/**
 * Listens to an import's stream, opening it unless it is open already; returns the function that
 * stops listening (the stream closes when nobody listens). After the stream ends or is refused,
 * listeners hear `closed` with `{ outcome, status }`.
 * @param {string} runId
 * @param {string} token
 * @param {Listener} listener
 */
export const follow = (runId, token, listener) => {
  let stream = streams.get(runId)
  if (stream === undefined) {
    const opened = { listeners: new Set(/** @type {Array<Listener>} */ ([])), controller: new AbortController() }
    streams.set(runId, opened)
    const tell = (/** @type {string} */ event, /** @type {any} */ data) => {
      for (const each of [...opened.listeners]) each(event, data)
    }
    readImportStream(runId, { token, signal: opened.controller.signal, onMessage: tell }).then((result) => {
      if (streams.get(runId) === opened) streams.delete(runId)
      if (result.outcome !== "aborted") tell("closed", result)
    })
    stream = opened
  }
  const joined = stream
  joined.listeners.add(listener)
  return () => {
    joined.listeners.delete(listener)
    if (joined.listeners.size === 0) {
      joined.controller.abort()
      if (streams.get(runId) === joined) streams.delete(runId)
    }
  }
}

/** Whether an import's stream is open. @param {string} runId */
export const isFollowed = (runId) => streams.has(runId)

/** Closes every stream (the token was forgotten). */
export const closeAll = () => {
  for (const stream of streams.values()) stream.controller.abort()
  streams.clear()
}
