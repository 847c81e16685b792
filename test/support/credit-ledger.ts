/**
 * A user's credits three ways, read in one snapshot: folded from the events of their credit
 * stream, and as the credit_accounts and credit_holds projections hold them. The load test and
 * the soak check that they agree while imports run and once they have ended.
 */
import { Effect } from "effect"
import { sql } from "kysely"
import { creditsStream } from "../../events/index.ts"
import { Database } from "../../src/db/Database.ts"
import { EventStore, type RecordedEvent } from "../../src/eventstore/EventStore.ts"

export interface Hold {
  readonly reserved: number
  readonly charged: number
  readonly refunded: number
  /** CreditsRefunded events of the import (exactly one once it has ended). */
  readonly refunds: number
}

export interface CreditFold {
  readonly granted: number
  readonly charged: number
  /** Reserved and not yet charged or refunded. */
  readonly reserved: number
  readonly holds: ReadonlyMap<string, Hold>
}

/** The credit stream's events folded: what every figure of the user's credits must be. */
export const foldCredits = (events: ReadonlyArray<RecordedEvent>): CreditFold => {
  let granted = 0
  let charged = 0
  let reserved = 0
  const holds = new Map<string, Hold>()
  const hold = (id: string) => holds.get(id) ?? { reserved: 0, charged: 0, refunded: 0, refunds: 0 }
  for (const { event } of events) {
    switch (event._tag) {
      case "CreditsGranted":
        granted += event.amount
        break
      case "CreditsReserved":
        reserved += event.amount
        holds.set(event.importId, { ...hold(event.importId), reserved: hold(event.importId).reserved + event.amount })
        break
      case "CreditsCharged":
        charged += event.amount
        reserved -= event.amount
        holds.set(event.importId, { ...hold(event.importId), charged: hold(event.importId).charged + event.amount })
        break
      case "CreditsRefunded": {
        reserved -= event.amount
        const h = hold(event.importId)
        holds.set(event.importId, { ...h, refunded: h.refunded + event.amount, refunds: h.refunds + 1 })
        break
      }
      default:
        throw new Error(`unexpected ${event._tag} in a credit stream`)
    }
  }
  return { granted, charged, reserved, holds }
}

export interface CreditLedger {
  readonly fold: CreditFold
  readonly account: { readonly granted: number; readonly charged: number; readonly reserved: number }
  readonly holds: ReadonlyMap<string, Omit<Hold, "refunds">>
}

const CREDIT_EVENTS = ["CreditsGranted", "CreditsReserved", "CreditsCharged", "CreditsRefunded"]

/** These users' credit events and projection rows, all read in one repeatable-read snapshot (four statements). */
export const creditLedgers = (userIds: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const db = yield* Database
    const store = yield* EventStore
    return yield* db.transaction(Effect.gen(function*() {
      // The first statement of the transaction: everything after reads one snapshot (PGlite runs one transaction at a time anyway).
      yield* db.query((q) => sql`set transaction isolation level repeatable read read only`.execute(q))
      const events = yield* store.readCommitted({ types: CREDIT_EVENTS })
      const accounts = yield* db.query((q) =>
        q.selectFrom("credit_accounts").select(["user_id", "granted", "charged", "reserved"]).where("user_id", "in", userIds).execute()
      )
      const holds = yield* db.query((q) =>
        q.selectFrom("credit_holds").select(["user_id", "import_id", "reserved", "charged", "refunded"]).where("user_id", "in", userIds).execute()
      )
      return new Map(userIds.map((userId): [string, CreditLedger] => {
        const account = accounts.find((a) => a.user_id === userId)
        return [userId, {
          fold: foldCredits(events.filter((e) => e.streamId === creditsStream(userId))),
          account: {
            granted: Number(account?.granted ?? 0),
            charged: Number(account?.charged ?? 0),
            reserved: Number(account?.reserved ?? 0)
          },
          holds: new Map(holds.filter((h) => h.user_id === userId).map((h) => [
            h.import_id,
            { reserved: Number(h.reserved), charged: Number(h.charged), refunded: Number(h.refunded) }
          ]))
        }]
      }))
    }))
  }).pipe(Effect.orDie)

/** One user's ledger. */
export const creditLedger = (userId: string) => Effect.map(creditLedgers([userId]), (ledgers) => ledgers.get(userId)!)

/**
 * What must hold at any moment: the projections equal the fold; nothing is over-reserved
 * (available = granted - charged - reserved never below 0); no hold charged or refunded past
 * what it reserved, none refunded twice. Returns the problems found (none: []).
 */
export const ledgerProblems = (ledger: CreditLedger): ReadonlyArray<string> => {
  const { fold, account } = ledger
  const problems: Array<string> = []
  const available = fold.granted - fold.charged - fold.reserved
  if (account.granted !== fold.granted || account.charged !== fold.charged || account.reserved !== fold.reserved) {
    problems.push(`credit_accounts ${JSON.stringify(account)} ≠ events ${JSON.stringify({ granted: fold.granted, charged: fold.charged, reserved: fold.reserved })}`)
  }
  if (fold.reserved < 0) problems.push(`reserved ${fold.reserved} < 0`)
  if (available < 0) problems.push(`available ${available} < 0: more reserved than granted`)
  if (ledger.holds.size !== fold.holds.size) problems.push(`${ledger.holds.size} credit_holds rows, ${fold.holds.size} reservations`)
  for (const [importId, h] of fold.holds) {
    const row = ledger.holds.get(importId)
    if (row === undefined || row.reserved !== h.reserved || row.charged !== h.charged || row.refunded !== h.refunded) {
      problems.push(`credit_holds ${importId} ${JSON.stringify(row)} ≠ events ${JSON.stringify(h)}`)
    }
    if (h.charged + h.refunded > h.reserved) problems.push(`import ${importId} charged ${h.charged} + refunded ${h.refunded} > reserved ${h.reserved}`)
    if (h.refunds > 1) problems.push(`import ${importId} refunded ${h.refunds} times`)
  }
  return problems
}
