/**
 * Who may call: user API tokens (revocable, looked up by hash) for the user API, ADMIN_TOKEN
 * for the admin paths, compared in constant time. The middleware definitions are in
 * Security.ts (shared with clients); these are their implementations.
 */
import { Config, Effect, Layer, Option, Redacted } from "effect"
import { createHash, timingSafeEqual } from "node:crypto"
import { Accounts } from "../accounts/Accounts.ts"
import { apiError, Unauthorized } from "./errors.ts"
import { AdminAuthorization, Authorization, CurrentUser } from "./Security.ts"

export const unauthorized = (message: string) => apiError(Unauthorized, "UNAUTHORIZED", message)

export const AuthorizationLive = Layer.effect(
  Authorization,
  Effect.gen(function*() {
    const accounts = yield* Accounts
    return Authorization.of({
      bearer: (httpEffect, { credential }) =>
        Effect.gen(function*() {
          const user = yield* accounts.authenticate(Redacted.value(credential)).pipe(Effect.orDie)
          if (Option.isNone(user)) return yield* Effect.fail(unauthorized("Missing or unknown bearer token"))
          return yield* Effect.provideService(httpEffect, CurrentUser, user.value)
        })
    })
  })
)

/**
 * Whether `given` is `expected`, in constant time whatever their lengths: both are hashed to
 * 32 bytes first, so neither the comparison nor an early length check tells a caller anything.
 */
export const sameSecret = (given: string, expected: string): boolean =>
  timingSafeEqual(createHash("sha256").update(given).digest(), createHash("sha256").update(expected).digest())

export const AdminAuthorizationLive = Layer.effect(
  AdminAuthorization,
  Effect.gen(function*() {
    const adminToken = yield* Config.option(Config.Redacted("ADMIN_TOKEN"))
    const expected = Option.filter(Option.map(adminToken, Redacted.value), (t) => t !== "")
    return AdminAuthorization.of({
      bearer: (httpEffect, { credential }) =>
        Option.isNone(expected)
          ? Effect.fail(unauthorized("The admin API is disabled: ADMIN_TOKEN is not set"))
          : sameSecret(Redacted.value(credential), expected.value)
          ? httpEffect
          : Effect.fail(unauthorized("Missing or wrong admin token"))
    })
  })
)
