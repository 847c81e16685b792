/** Handlers of the admin group: users, credits, LinkedIn accounts, tokens (ADMIN_TOKEN). */
import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Accounts } from "../../accounts/Accounts.ts"
import { Credits } from "../../credits/Credits.ts"
import { Api } from "../Api.ts"
import { apiError, BadRequest, Conflict, NotFound } from "../errors.ts"

export const AdminHandlers = HttpApiBuilder.group(Api, "admin", Effect.fn(function*(handlers) {
  const accounts = yield* Accounts
  const credits = yield* Credits
  const userNotFound = apiError(NotFound, "USER_NOT_FOUND", "No such user")
  return handlers
    .handle("createUser", ({ payload }) =>
      accounts.createUser(payload).pipe(
        Effect.catchTags({
          EmailTaken: (e) => Effect.fail(apiError(Conflict, "EMAIL_TAKEN", `A user with email ${e.email} exists`)),
          SqlError: Effect.die
        })
      ))
    .handle("grantCredits", ({ params, payload }) =>
      Effect.gen(function*() {
        if (!(yield* accounts.userExists(params.userId))) return yield* Effect.fail(userNotFound)
        const { balance, available } = yield* credits.grant(params.userId, payload.amount, "admin grant")
        return { balance, available }
      }).pipe(Effect.catchTags({
        CreditsOutOfRange: (e) =>
          Effect.fail(apiError(BadRequest, "VALIDATION_FAILED", "Invalid request body", [{
            path: "amount",
            message: `would make the balance ${e.balance} and available ${e.available}: both must stay within ±${Number.MAX_SAFE_INTEGER}`
          }])),
        SqlError: Effect.die
      })))
    .handle("connectLinkedinAccount", ({ params, payload }) =>
      accounts.connectLinkedinAccount(params.userId, payload).pipe(
        Effect.catchTags({ UserNotFound: () => Effect.fail(userNotFound), SqlError: Effect.die })
      ))
    .handle("issueToken", ({ params }) =>
      accounts.issueToken(params.userId).pipe(
        Effect.catchTags({ UserNotFound: () => Effect.fail(userNotFound), SqlError: Effect.die })
      ))
    .handle("revokeToken", ({ params }) =>
      accounts.revokeToken(params.tokenId).pipe(
        Effect.catchTags({
          TokenNotFound: () => Effect.fail(apiError(NotFound, "TOKEN_NOT_FOUND", "No such token")),
          SqlError: Effect.die
        })
      ))
}))
