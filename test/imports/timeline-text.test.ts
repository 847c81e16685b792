/** The timeline as text (the MCP resource): one line per event of every type, in order, with its time and type. */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import type { RecordedEvent } from "../../src/eventstore/EventStore.ts"
import { timelineText } from "../../src/imports/timeline.ts"
import { domainEvent } from "../support/arbitraries.ts"

const recorded = (events: ReadonlyArray<RecordedEvent["event"]>): ReadonlyArray<RecordedEvent> =>
  events.map((event, i) => ({
    eventId: `e-${i}`,
    streamId: "import-1",
    version: i + 1,
    position: i + 1,
    transactionId: String(i + 1),
    type: event._tag,
    event,
    metadata: {},
    recordedAt: new Date(Date.UTC(2026, 4, 1, 10, 0, i))
  }) as RecordedEvent)

describe("timelineText", () => {
  it("has one line per event, in order, each with its time and type", () => {
    fc.assert(fc.property(fc.array(domainEvent, { maxLength: 20 }), (events) => {
      const lines = events.length === 0 ? [] : timelineText(recorded(events)).split("\n")
      expect(lines).toHaveLength(events.length)
      lines.forEach((line, i) => expect(line).toMatch(new RegExp(`^2026-05-01T10:00:${String(i).padStart(2, "0")}\\.000Z ${events[i]!._tag}: \\S`)))
    }))
  })
})
