/** Users, lists and state snapshots for the HTTP tests. */
import { Effect } from "effect"
import { sql } from "kysely"
import { Accounts } from "../../src/accounts/Accounts.ts"
import { Database } from "../../src/db/Database.ts"

export const PEOPLE_SEARCH = "https://www.linkedin.com/sales/search/people?query=(keywords%3Acto)&sessionId=abc%3D%3D"

/** A user with a token; `salesNavigator` connects a Sales Navigator account. */
export const makeUser = (options: { readonly credits?: number; readonly salesNavigator?: boolean } = {}) =>
  Effect.gen(function*() {
    const accounts = yield* Accounts
    return yield* accounts.createUser({
      email: `${crypto.randomUUID()}@example.com`,
      credits: options.credits ?? 5000,
      salesNavigator: options.salesNavigator ?? true
    })
  }).pipe(Effect.orDie)

/**
 * Everything the store and the read models hold for one user: a request answered
 * with an error must leave it unchanged (scoped to the user, so imports of other
 * users running in the background do not disturb the comparison).
 */
export const snapshotOf = (userId: string) =>
  Effect.gen(function*() {
    const db = yield* Database
    const { rows } = yield* db.query((q) =>
      sql<Record<string, number>>`select
        (select count(*)::int from events where user_id = ${userId}) as events,
        (select count(*)::int from lists where user_id = ${userId}::uuid) as lists,
        (select count(*)::int from outbox where user_id = ${userId}::uuid) as outbox,
        (select count(*)::int from credit_holds where user_id = ${userId}::uuid) as holds,
        (select count(*)::int from imports where user_id = ${userId}::uuid) as imports,
        (select coalesce(sum(reserved), 0)::int from credit_accounts where user_id = ${userId}::uuid) as reserved,
        (select coalesce(sum(granted - charged), 0)::int from credit_accounts where user_id = ${userId}::uuid) as balance`
        .execute(q)
    )
    return rows[0]!
  }).pipe(Effect.orDie)
