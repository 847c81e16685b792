/**
 * Who may call: user API tokens (revocable, looked up by hash) for the user API, ADMIN_TOKEN
 * for the admin paths and SUPPORT_TOKEN for the support paths, compared in constant time. The middleware definitions are in
 * Security.ts (shared with clients); these are their implementations.
 */
import { Config, Effect, Layer, Option, Redacted } from "effect"
import { createHash, timingSafeEqual } from "node:crypto"
import { Accounts, hashToken, type User } from "../accounts/Accounts.ts"
import { apiError, Unauthorized } from "./errors.ts"
import { AdminAuthorization, Authorization, CurrentUser, SupportAuthorization } from "./Security.ts"

export const unauthorized = (message: string) => apiError(Unauthorized, "UNAUTHORIZED", message)

/** Endpoints whose command re-checks a cached token in its own statement (so it may skip the lookup). */
const RECHECKING_ENDPOINTS = new Set(["importSalesNav"])

/** How many token hashes the cache keeps (the oldest go first). */
const TOKEN_CACHE_SIZE = 10_000

/**
 * User tokens. A token seen valid is remembered (hash -> user: a token never changes owner), but
 * only an endpoint that re-checks it in its own statement trusts the memory — the import POST,
 * whose `start_import` refuses a revoked hash — and even there any failure is re-checked against
 * the database before it is answered, so a revoked token is 401 on its next request, on every
 * instance. Every other endpoint looks the token up each time, as before.
 */
export const AuthorizationLive = Layer.effect(
  Authorization,
  Effect.gen(function*() {
    const accounts = yield* Accounts
    const known = new Map<string, User>()
    const remember = (hash: string, user: User) => {
      if (known.size >= TOKEN_CACHE_SIZE) known.delete(known.keys().next().value!)
      known.set(hash, user)
    }
    const lookup = (token: string) => accounts.authenticate(token).pipe(Effect.orDie)
    return Authorization.of({
      bearer: (httpEffect, { credential, endpoint }) =>
        Effect.gen(function*() {
          const token = Redacted.value(credential)
          const hash = hashToken(token)
          const cached = RECHECKING_ENDPOINTS.has(endpoint.identifier) ? known.get(hash) : undefined
          if (cached !== undefined) {
            return yield* Effect.provideService(httpEffect, CurrentUser, { ...cached, unverifiedTokenHash: hash }).pipe(
              // Whatever failed (a bad body, a rejection, the command finding the token revoked), the
              // token comes first in the contract's order: check it now, and answer 401 if it is gone.
              Effect.catchCause((cause) =>
                Effect.gen(function*() {
                  if (Option.isSome(yield* lookup(token))) return yield* Effect.failCause(cause)
                  known.delete(hash)
                  return yield* Effect.fail(unauthorized("Missing or unknown bearer token"))
                })
              )
            )
          }
          const user = yield* lookup(token)
          if (Option.isNone(user)) return yield* Effect.fail(unauthorized("Missing or unknown bearer token"))
          remember(hash, user.value)
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
