/**
 * The tailing order is (transaction id, position) as numbers. Event rows leave the database
 * with the transaction id as text, and text sorts '10' before '5': a reader ordering by that
 * would skip an event behind its checkpoint and misplace the head. Two events written under
 * transaction ids 5 and 10 (long finished), in the opposite position order, tell them apart.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { sql } from "kysely"
import { CreditsGranted, eventCodec } from "../../events/index.ts"
import { Database } from "../../src/db/Database.ts"
import { EventStore } from "../../src/eventstore/EventStore.ts"
import { TestDatabase } from "../support/db.ts"

layer(EventStore.layer().pipe(Layer.provideMerge(TestDatabase())), { excludeTestServices: true })("the tailing order", (it) => {
  it.effect("is numeric in the transaction id: pages, checkpoints and the head", () =>
    Effect.gen(function*() {
      const db = yield* Database
      const store = yield* EventStore
      const stream = `orderxid-${crypto.randomUUID()}`
      const stored = (amount: number) => eventCodec.encode(new CreditsGranted({ userId: "u", amount, reason: "order" }))
      // Written first (lower position) under the higher transaction id.
      for (const [xid, version, amount] of [[10, 1, 10], [5, 2, 5]] as const) {
        const e = stored(amount)
        yield* db.query((q) =>
          sql`insert into events (transaction_id, event_id, stream_id, version, type, schema_version, data)
              values (${String(xid)}::text::xid8, ${crypto.randomUUID()}::uuid, ${stream}, ${version}, ${e.type}, ${e.schemaVersion},
                      ${JSON.stringify(e.data)}::text::jsonb)`.execute(q)
        )
      }
      const amountOf = (page: { readonly events: ReadonlyArray<{ readonly event: unknown }> }) =>
        page.events.map((e) => (e.event as CreditsGranted).amount)

      const first = yield* store.readAll({ category: "orderxid", limit: 1 })
      expect(amountOf(first)).toEqual([5])
      expect(first.checkpoint.transactionId).toBe("5")
      const second = yield* store.readAll({ category: "orderxid", after: first.checkpoint, limit: 1 })
      expect(amountOf(second)).toEqual([10])
      // Merged reads of several types keep the same order.
      expect(amountOf(yield* store.readAll({ category: "orderxid", types: ["CreditsGranted", "CreditsCharged"] }))).toEqual([5, 10])
      expect((yield* store.head).transactionId).toBe("10")
    }).pipe(Effect.orDie))
})
