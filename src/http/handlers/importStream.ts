/**
 * GET /api/imports/{runId}/stream as Server-Sent Events, fed by the ImportFeed: `progress`
 * (the ImportStatus, at once and after every change), `rows` (each persisted row once, in
 * list order), `end` (the final status; then the stream closes), and a comment line every
 * STREAM_HEARTBEAT_MS so proxies keep an idle stream open.
 *
 * Every event's id is the log checkpoint it follows ("<transaction>.<position>"): a client
 * that reconnects with Last-Event-ID gets exactly what came after it. A stream opened after
 * the end replays everything and ends.
 */
import { Effect, Stream } from "effect"
import { HttpServerResponse } from "effect/http"
import { BatchPersisted } from "../../../events/index.ts"
import { type Checkpoint, EventStore, type RecordedEvent, startOfTime } from "../../eventstore/EventStore.ts"
import { after, checkpointOf, type ImportBatch, ImportFeed } from "../../imports/ImportFeed.ts"
import { importEventIds } from "../../pipeline/importEventIds.ts"
import type { ImportRow } from "../../imports/Imports.ts"
import { rowsOf, toImportStatus } from "./responses.ts"

/** Events that end an import. */
const ENDINGS = new Set(["ImportCompleted", "ImportFailed", "ImportCanceled"])

export const eventId = (c: Checkpoint): string => `${c.transactionId}.${c.position}`

/** The largest transaction id (xid8) and position (a bigint read as a number) a checkpoint can hold. */
const MAX_TRANSACTION_ID = 2n ** 64n - 1n

/**
 * The checkpoint a Last-Event-ID names; anything else — including numbers past what the log can
 * hold, which the database would refuse mid-stream — starts from the beginning (nothing is missed).
 */
export const resumeFrom = (lastEventId: string | undefined): Checkpoint => {
  const match = /^(\d{1,20})\.(\d{1,20})$/.exec(lastEventId?.trim() ?? "")
  if (!match || BigInt(match[1]!) > MAX_TRANSACTION_ID || !Number.isSafeInteger(Number(match[2]))) return startOfTime
  return { transactionId: String(BigInt(match[1]!)), position: Number(match[2]) }
}

const message = (id: string, event: string, data: unknown) => `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`

/** The SSE messages of one batch, and whether the import's end was among its events. */
export const messagesOf = (batch: ImportBatch, from: Checkpoint, first: boolean, fallback: ImportRow) => {
  const lines: Array<string> = []
  let ended = false
  for (const e of batch.events) {
    if (e.event instanceof BatchPersisted && e.event.rows.length > 0) {
      lines.push(message(eventId(checkpointOf(e)), "rows", { rows: rowsOf(e as RecordedEvent<BatchPersisted>) }))
    }
    if (ENDINGS.has(e.type)) ended = true
  }
  const last = batch.events.at(-1)
  const id = eventId(last ? checkpointOf(last) : from)
  const status = toImportStatus(batch.status ?? fallback)
  if (first || batch.events.length > 0) lines.push(message(id, "progress", status))
  if (ended) lines.push(message(id, "end", status))
  return { lines, ended }
}

export const importEventStream = (row: ImportRow, lastEventId: string | undefined, options: { readonly heartbeatMs: number }) =>
  Effect.gen(function*() {
    const feed = yield* ImportFeed
    const store = yield* EventStore
    const from = resumeFrom(lastEventId)
    // A client that comes back after the end has nothing more to wait for: the end again, at once.
    const end = yield* store.readEvent(importEventIds.ended(row.import_id))
    if (end !== undefined && !after(checkpointOf(end), from)) {
      const status = toImportStatus(row)
      return HttpServerResponse.text(message(eventId(from), "progress", status) + message(eventId(from), "end", status), {
        contentType: "text/event-stream"
      })
    }
    let first = true
    const events = feed.follow(row.import_id, from).pipe(
      Stream.map((batch) => {
        const messages = messagesOf(batch, from, first, row)
        first = false
        return messages
      }),
      // The batch with the end is the last: the stream closes after it.
      Stream.takeUntil((messages) => messages.ended),
      Stream.map(({ lines }) => lines.join("")),
      Stream.filter((text) => text !== ""),
      Stream.orDie
    )
    const heartbeats = Stream.tick(`${options.heartbeatMs} millis`).pipe(Stream.drop(1), Stream.map(() => ": keep-alive\n\n"))
    return HttpServerResponse.stream(
      Stream.merge(events, heartbeats, { haltStrategy: "left" }).pipe(Stream.encodeText),
      { contentType: "text/event-stream", headers: { "cache-control": "no-cache", "x-accel-buffering": "no" } }
    )
  })
