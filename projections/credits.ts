/**
 * credit_accounts and credit_holds: each user's IMPORT_LEAD credits, and what each
 * import holds of them. Inline, so the API reads its own writes.
 *
 *   balance   = granted - charged
 *   reserved  = held by imports that have not settled (reserved - charged - refunded)
 *   available = balance - reserved
 *
 * Set-based: the batch is folded into one change per account and per hold first, then
 * written with one statement, however many events.
 */
import { sql } from "kysely"
import type { CreditsCharged, CreditsGranted, CreditsRefunded, CreditsReserved } from "../events/index.ts"
import { columnList, jsonRows } from "../src/db/sql.ts"
import type { RecordedEvent } from "../src/eventstore/EventStore.ts"
import { applyWrites, type Projection, type Writes } from "../src/eventstore/Projection.ts"

const accountColumns = { user_id: "uuid", version: "integer", granted: "bigint", charged: "bigint", reserved: "bigint" }
const holdColumns = { import_id: "uuid", user_id: "uuid", reserved: "bigint", charged: "bigint", refunded: "bigint" }
const settledColumns = { import_id: "uuid", charged: "bigint", refunded: "bigint" }

type CreditEvent = CreditsGranted | CreditsReserved | CreditsCharged | CreditsRefunded

const writes = (events: ReadonlyArray<RecordedEvent>): Writes => {
  const accounts = new Map<string, { user_id: string; version: number; granted: number; charged: number; reserved: number }>()
  const holds: Array<{ import_id: string; user_id: string; reserved: number }> = []
  const settled = new Map<string, { import_id: string; charged: number; refunded: number }>()
  for (const { event, version } of events) {
    const e = event as CreditEvent
    const account = accounts.get(e.userId) ?? { user_id: e.userId, version, granted: 0, charged: 0, reserved: 0 }
    // A stream's events come in version order: the last one is the version the account reflects.
    account.version = Math.max(account.version, version)
    switch (e._tag) {
      case "CreditsGranted":
        account.granted += e.amount
        break
      case "CreditsReserved":
        account.reserved += e.amount
        break
      case "CreditsCharged":
        account.charged += e.amount
        account.reserved -= e.amount
        break
      case "CreditsRefunded":
        account.reserved -= e.amount
    }
    accounts.set(e.userId, account)

    if (e._tag === "CreditsReserved") holds.push({ import_id: e.importId, user_id: e.userId, reserved: e.amount })
    if (e._tag === "CreditsCharged" || e._tag === "CreditsRefunded") {
      const hold = settled.get(e.importId) ?? { import_id: e.importId, charged: 0, refunded: 0 }
      if (e._tag === "CreditsCharged") hold.charged += e.amount
      else hold.refunded += e.amount
      settled.set(e.importId, hold)
    }
  }
  // A hold reserved in this batch is inserted with what the batch settles on it; the
  // update settles the holds of earlier batches (it cannot see rows this statement inserts).
  const newHolds = holds.map((h) => {
    const s = settled.get(h.import_id)
    settled.delete(h.import_id)
    return { ...h, charged: s?.charged ?? 0, refunded: s?.refunded ?? 0 }
  })
  // One step for the three changes (distinct rows), so one round trip per append.
  return [[
    sql`insert into credit_accounts (${columnList(accountColumns)})
        select ${columnList(accountColumns)} from ${jsonRows([...accounts.values()], accountColumns)}
        on conflict (user_id) do update set
          version = excluded.version,
          granted = credit_accounts.granted + excluded.granted,
          charged = credit_accounts.charged + excluded.charged,
          reserved = credit_accounts.reserved + excluded.reserved`,
    ...(newHolds.length > 0
      ? [sql`insert into credit_holds (${columnList(holdColumns)})
          select ${columnList(holdColumns)} from ${jsonRows(newHolds, holdColumns)}`]
      : []),
    ...(settled.size > 0
      ? [sql`update credit_holds set charged = credit_holds.charged + r.charged, refunded = credit_holds.refunded + r.refunded
          from ${jsonRows([...settled.values()], settledColumns)} where credit_holds.import_id = r.import_id`]
      : [])
  ]]
}

export const creditsProjection: Projection = {
  name: "credits",
  handles: ["CreditsGranted", "CreditsReserved", "CreditsCharged", "CreditsRefunded"],
  tables: ["credit_accounts", "credit_holds"],
  apply: applyWrites(writes),
  writes
}
