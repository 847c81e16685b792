/**
 * IMPORT_LEAD credits of a user: read from the inline `credits` projection, changed
 * only by appending credit events to the user's `credits-<userId>` stream.
 */
import { Context, Effect, Layer, Schedule, Schema } from "effect"
import { CreditsGranted, creditsStream } from "../../events/index.ts"
import { Database, type SqlError } from "../db/Database.ts"
import { EventStore } from "../eventstore/EventStore.ts"
import { decideGrant } from "./granting.ts"

/** The grant would take the balance, or what is available, past ±(2^53 - 1); nothing was written. */
export class CreditsOutOfRange extends Schema.TaggedError<CreditsOutOfRange>()("CreditsOutOfRange", {
  /** What the balance would have been, as decimal digits. */
  balance: Schema.String,
  available: Schema.String
}) {}

export interface CreditBalance {
  /** Granted minus charged. */
  readonly balance: number
  /** Held by imports that have not ended. */
  readonly reserved: number
  /** balance - reserved: what the next import can use. */
  readonly available: number
  /** Version of the user's credit stream this balance reflects (0: no stream yet). */
  readonly version: number
}

export class Credits extends Context.Service<Credits, {
  balance(userId: string): Effect.Effect<CreditBalance, SqlError>
  /** Grants `amount` (negative: takes away), unless that takes a figure out of the safe-integer range. */
  grant(userId: string, amount: number, reason: string): Effect.Effect<CreditBalance, CreditsOutOfRange | SqlError>
}>()("app/credits/Credits") {
  static readonly layer = Layer.effect(
    Credits,
    Effect.gen(function*() {
      const db = yield* Database
      const store = yield* EventStore

      const balance = (userId: string) =>
        db.query((q) =>
          q.selectFrom("credit_accounts").select(["version", "granted", "charged", "reserved"])
            .where("user_id", "=", userId).executeTakeFirst()
        ).pipe(Effect.map((row): CreditBalance => {
          if (!row) return { balance: 0, reserved: 0, available: 0, version: 0 }
          const balance = Number(row.granted) - Number(row.charged)
          const reserved = Number(row.reserved)
          return { balance, reserved, available: balance - reserved, version: row.version }
        }))

      // Decided on the balance it changes: a grant racing another change of the stream decides again.
      const grant = (userId: string, amount: number, reason: string) =>
        db.transaction(Effect.gen(function*() {
          const current = yield* balance(userId)
          const decision = decideGrant(current, amount)
          if (decision._tag === "OutOfRange") {
            return yield* new CreditsOutOfRange({ balance: String(decision.balance), available: String(decision.available) })
          }
          yield* store.append(creditsStream(userId), [new CreditsGranted({ userId, amount, reason })], {
            expectedVersion: current.version,
            userId
          })
          return yield* balance(userId)
        })).pipe(
          Effect.retry({
            while: (e) => e._tag === "WrongExpectedVersion",
            schedule: Schedule.exponential("2 millis", 1.5).pipe(Schedule.jittered),
            times: 50
          }),
          Effect.catchTag(["WrongExpectedVersion", "IdempotencyConflict"], Effect.die)
        )

      return Credits.of({ balance, grant })
    })
  )
}
