/** The union codec is the only way events enter and leave the table's jsonb: it must round-trip. */
import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import fc from "fast-check"
import { eventCodec, schemaVersions } from "../../events/index.ts"
import { domainEvent, domainEvents } from "../support/arbitraries.ts"

describe("event codec", () => {
  it("every event survives encode -> JSON text -> decode unchanged", () => {
    fc.assert(
      fc.property(domainEvent, (event) => {
        const stored = eventCodec.encode(event)
        expect(stored.type).toBe(event._tag)
        expect(stored.schemaVersion).toBe(schemaVersions[event._tag])
        expect(stored.data).not.toHaveProperty("_tag")
        const throughJson = JSON.parse(JSON.stringify(stored))
        const decoded = eventCodec.decode(throughJson)
        expect(Result.isSuccess(decoded) && decoded.success).toEqual(event)
      }),
      { numRuns: 500 }
    )
  })

  it("has a generator for every event type of the union", () => {
    expect(Object.keys(domainEvents).sort()).toEqual(Object.keys(schemaVersions).sort())
  })

  it("rejects unknown types, newer versions and malformed data with a reason", () => {
    const bad = [
      { type: "Nope", schemaVersion: 1, data: {} },
      { type: "CreditsGranted", schemaVersion: 9, data: { userId: "u", amount: 1, reason: "r" } },
      { type: "CreditsGranted", schemaVersion: 1, data: { userId: "u", amount: 1.5, reason: "r" } },
      { type: "CreditsReserved", schemaVersion: 1, data: { userId: "u", importId: "i", amount: -1 } }
    ]
    for (const stored of bad) {
      const decoded = eventCodec.decode(stored)
      expect(Result.isFailure(decoded)).toBe(true)
    }
  })
})
