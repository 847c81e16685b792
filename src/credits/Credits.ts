/**
 * IMPORT_LEAD credits of a user: read from the inline `credits` projection, changed
 * only by appending credit events to the user's `credits-<userId>` stream.
 */
import { Context, Effect, Layer } from "effect"
import { CreditsGranted, creditsStream } from "../../events/index.ts"
import { Database, type SqlError } from "../db/Database.ts"
import { EventStore } from "../eventstore/EventStore.ts"

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
  /** Grants `amount` (negative: takes away). */
  grant(userId: string, amount: number, reason: string): Effect.Effect<CreditBalance, SqlError>
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

      const grant = (userId: string, amount: number, reason: string) =>
        db.transaction(
          Effect.andThen(
            store.append(creditsStream(userId), [new CreditsGranted({ userId, amount, reason })], {
              expectedVersion: "any",
              userId
            }),
            balance(userId)
          )
        ).pipe(Effect.catchTag(["WrongExpectedVersion", "IdempotencyConflict"], Effect.die))

      return Credits.of({ balance, grant })
    })
  )
}
