/**
 * Who may call: user API tokens (revocable, looked up by hash) for the user API, ADMIN_TOKEN
 * for the admin paths and SUPPORT_TOKEN for the support paths, compared in constant time. The middleware definitions are in
 * Security.ts (shared with clients); these are their implementations.
 */
import { Config, Effect, Layer, Option, Redacted } from "effect"
import { createHash, timingSafeEqual } from "node:crypto"
import { Accounts } from "../accounts/Accounts.ts"
import { apiError, Unauthorized } from "./errors.ts"
import { AdminAuthorization, Authorization, CurrentUser, SupportAuthorization } from "./Security.ts"

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

/** The bearer check of a staff API whose token is the setting `variable` (unset or empty: the API is off). */
const staffToken = (variable: string, api: string) =>
  Effect.map(Config.option(Config.Redacted(variable)), (configured) => {
    const expected = Option.filter(Option.map(configured, Redacted.value), (t) => t !== "")
    return <A, E, R>(httpEffect: Effect.Effect<A, E, R>, credential: Redacted.Redacted<string>) =>
      Option.isNone(expected)
        ? Effect.fail(unauthorized(`The ${api} API is disabled: ${variable} is not set`))
        : sameSecret(Redacted.value(credential), expected.value)
        ? httpEffect
        : Effect.fail(unauthorized(`Missing or wrong ${api} token`))
  })

export const AdminAuthorizationLive = Layer.effect(
  AdminAuthorization,
  Effect.map(staffToken("ADMIN_TOKEN", "admin"), (check) =>
    AdminAuthorization.of({ bearer: (httpEffect, { credential }) => check(httpEffect, credential) }))
)

export const SupportAuthorizationLive = Layer.effect(
  SupportAuthorization,
  Effect.map(staffToken("SUPPORT_TOKEN", "support"), (check) =>
    SupportAuthorization.of({ bearer: (httpEffect, { credential }) => check(httpEffect, credential) }))
)
