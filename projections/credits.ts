/**
 * credit_accounts and credit_holds: each user's IMPORT_LEAD credits, and what each
 * import holds of them. Inline, so the API reads its own writes.
 *
 *   balance   = granted - charged
 *   reserved  = held by imports that have not settled (reserved - charged - refunded)
 *   available = balance - reserved
 */
import { Effect } from "effect"
import { sql } from "kysely"
import type { CreditsCharged, CreditsGranted, CreditsRefunded, CreditsReserved } from "../events/index.ts"
import { Database } from "../src/db/Database.ts"
import type { Projection } from "../src/eventstore/Projection.ts"

export const creditsProjection: Projection = {
  name: "credits",
  handles: ["CreditsGranted", "CreditsReserved", "CreditsCharged", "CreditsRefunded"],
  tables: ["credit_accounts", "credit_holds"],
  apply: (events) =>
    Effect.gen(function*() {
      const db = yield* Database
      for (const { event, version } of events) {
        const e = event as CreditsGranted | CreditsReserved | CreditsCharged | CreditsRefunded
        // [granted, charged, reserved] deltas on the account.
        const [granted, charged, reserved] = e._tag === "CreditsGranted"
          ? [e.amount, 0, 0]
          : e._tag === "CreditsReserved"
          ? [0, 0, e.amount]
          : e._tag === "CreditsCharged"
          ? [0, e.amount, -e.amount]
          : [0, 0, -e.amount]
        yield* db.query((q) =>
          sql`insert into credit_accounts (user_id, version, granted, charged, reserved)
              values (${e.userId}::uuid, ${version}::int, ${granted}::bigint, ${charged}::bigint, ${reserved}::bigint)
              on conflict (user_id) do update set
                version = excluded.version,
                granted = credit_accounts.granted + excluded.granted,
                charged = credit_accounts.charged + excluded.charged,
                reserved = credit_accounts.reserved + excluded.reserved`.execute(q)
        )
        if (e._tag === "CreditsReserved") {
          yield* db.query((q) =>
            q.insertInto("credit_holds").values({ import_id: e.importId, user_id: e.userId, reserved: e.amount }).execute()
          )
        } else if (e._tag === "CreditsCharged" || e._tag === "CreditsRefunded") {
          const column = e._tag === "CreditsCharged" ? "charged" : "refunded"
          yield* db.query((q) =>
            q.updateTable("credit_holds").set((eb) => ({ [column]: eb(column, "+", e.amount) }))
              .where("import_id", "=", e.importId).execute()
          )
        }
      }
    })
}
