/**
 * The domain events and the one codec through which they enter and leave the
 * events table. Every event type carries a schema version; a stored event of an
 * older version is brought up to date by its upcasters on read, so stored events
 * are never edited. The projections read the stored data in SQL (projections/), not
 * through the codec: a new version of a type they read needs their SQL to read it too
 * (test/eventstore/projections-over-log.int.test.ts fails until then).
 */
import { Result, Schema } from "effect"
import { CreditsCharged, CreditsGranted, CreditsRefunded, CreditsReserved } from "./credits.ts"
import {
  BatchPersisted,
  ImportCanceled,
  ImportCancelRequested,
  ImportCompleted,
  ImportEnqueued,
  ImportFailed,
  ImportRequested,
  ImportStarted,
  LeadsDeduped,
  ListResolved,
  PageFetched
} from "./imports.ts"
import { ListCreated } from "./lists.ts"

export * from "./credits.ts"
export * from "./ids.ts"
export * from "./imports.ts"
export * from "./lead.ts"
export * from "./lists.ts"

export const DomainEvent = Schema.Union([
  ListCreated,
  CreditsGranted,
  CreditsReserved,
  CreditsCharged,
  CreditsRefunded,
  ImportRequested,
  ListResolved,
  ImportEnqueued,
  ImportStarted,
  PageFetched,
  LeadsDeduped,
  BatchPersisted,
  ImportCompleted,
  ImportFailed,
  ImportCancelRequested,
  ImportCanceled
])
export type DomainEvent = typeof DomainEvent.Type
export type EventType = DomainEvent["_tag"]

/** Current schema version of each event type. Bump it with an upcaster when a shape changes. */
export const schemaVersions: Record<EventType, number> = {
  ListCreated: 1,
  CreditsGranted: 1,
  CreditsReserved: 1,
  CreditsCharged: 1,
  CreditsRefunded: 1,
  ImportRequested: 1,
  ListResolved: 1,
  ImportEnqueued: 1,
  ImportStarted: 1,
  PageFetched: 1,
  LeadsDeduped: 1,
  BatchPersisted: 1,
  ImportCompleted: 1,
  ImportFailed: 1,
  ImportCancelRequested: 1,
  ImportCanceled: 1
}

/** Upcasters per type: `upcasters[type][v]` turns version-v data into version v+1. */
export type Upcasters = Partial<Record<string, Record<number, (data: Record<string, unknown>) => Record<string, unknown>>>>
export const upcasters: Upcasters = {}

/** An event as the table holds it. */
export interface StoredEvent {
  readonly type: string
  readonly schemaVersion: number
  readonly data: Record<string, unknown>
}

export interface EventCodec {
  encode(event: DomainEvent): StoredEvent
  decode(stored: StoredEvent): Result.Result<DomainEvent, string>
}

const encodeUnion = Schema.encodeSync(DomainEvent)
const decodeUnion = Schema.decodeUnknownResult(DomainEvent)

export const makeEventCodec = (
  options: { readonly versions?: Record<string, number>; readonly upcasters?: Upcasters } = {}
): EventCodec => {
  const versions: Record<string, number> = options.versions ?? schemaVersions
  const chains = options.upcasters ?? upcasters
  return {
    encode: (event) => {
      const { _tag, ...data } = encodeUnion(event) as { _tag: string } & Record<string, unknown>
      return { type: _tag, schemaVersion: versions[_tag] ?? 1, data }
    },
    decode: ({ type, schemaVersion, data }) => {
      const current = versions[type]
      if (current === undefined) return Result.fail(`unknown event type ${type}`)
      if (schemaVersion > current) return Result.fail(`${type} v${schemaVersion} is newer than this code (v${current})`)
      let upcast = data
      for (let v = schemaVersion; v < current; v++) {
        const step = chains[type]?.[v]
        if (step === undefined) return Result.fail(`no upcaster for ${type} v${v} -> v${v + 1}`)
        upcast = step(upcast)
      }
      return Result.mapError(decodeUnion({ ...upcast, _tag: type }), (issue) => `${type}: ${issue.message}`)
    }
  }
}

/** The codec of this code base's events. */
export const eventCodec = makeEventCodec()
