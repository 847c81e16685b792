/** Handlers of the lists group: Sales Navigator access, a list, its rows, the caller's credits. */
import { Effect, Option } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Accounts } from "../../accounts/Accounts.ts"
import { Credits } from "../../credits/Credits.ts"
import { Lists } from "../../lists/Lists.ts"
import { Api } from "../Api.ts"
import { CurrentUser } from "../Security.ts"
import { iso, listForbidden, toLead } from "./responses.ts"

export const ListsHandlers = HttpApiBuilder.group(Api, "lists", Effect.fn(function*(handlers) {
  const accounts = yield* Accounts
  const lists = yield* Lists
  const credits = yield* Credits
  /** The caller's list, or 403 (the same answer for another user's list and a missing one). */
  const callersList = (listId: string) =>
    Effect.gen(function*() {
      const user = yield* CurrentUser
      const list = yield* lists.find(user.id, listId).pipe(Effect.orDie)
      return Option.isSome(list) ? list.value : yield* Effect.fail(listForbidden)
    })
  return handlers
    .handle("salesNavAccess", () =>
      Effect.gen(function*() {
        const user = yield* CurrentUser
        const account = yield* accounts.salesNavAccount(user.id).pipe(Effect.orDie)
        return Option.match(account, {
          onNone: () => ({ hasSalesNavigator: false, account: null }),
          onSome: (a) => ({
            hasSalesNavigator: true,
            account: { id: a.id, name: a.name, providerAccountId: a.providerAccountId }
          })
        })
      }))
    .handle("getList", ({ params }) =>
      Effect.map(callersList(params.listId), (list) => ({
        id: list.id,
        name: list.name,
        rowCount: list.rowCount,
        createdAt: iso(list.createdAt)
      })))
    .handle("listRows", ({ params, query }) =>
      Effect.gen(function*() {
        const list = yield* callersList(params.listId)
        const limit = query.limit ?? 100
        const offset = query.offset ?? 0
        const rows = yield* lists.rows(params.listId, { limit, offset }).pipe(Effect.orDie)
        const total = list.rowCount
        return {
          rows: rows.map(toLead),
          total,
          limit,
          offset,
          hasMore: offset + rows.length < total
        }
      }))
    .handle("credits", () =>
      Effect.gen(function*() {
        const user = yield* CurrentUser
        const { balance, reserved, available } = yield* credits.balance(user.id).pipe(Effect.orDie)
        return { balance, reserved, available }
      }))
}))
