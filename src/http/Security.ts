/**
 * Who is calling: user API tokens for the API, ADMIN_TOKEN for the admin paths, SUPPORT_TOKEN
 * for the support paths.
 * Definitions only (shared with clients); the implementations are in server.ts.
 */
import { Context } from "effect"
import { HttpApiMiddleware, HttpApiSecurity } from "effect/http-api"
import { Unauthorized } from "./errors.ts"

export interface CurrentUserShape {
  readonly id: string
  readonly email: string
  /**
   * Set when the token was recognised from the cache of an earlier lookup, not checked now: the
   * import command re-checks this hash in its own statement (a token may have been revoked since).
   */
  readonly unverifiedTokenHash?: string | undefined
}

/** The authenticated user of the request. */
export class CurrentUser extends Context.Service<CurrentUser, CurrentUserShape>()("app/http/CurrentUser") {}

export class Authorization extends HttpApiMiddleware.Service<Authorization, { provides: CurrentUser }>()(
  "app/http/Authorization",
  { security: { bearer: HttpApiSecurity.bearer }, error: Unauthorized }
) {}

export class AdminAuthorization extends HttpApiMiddleware.Service<AdminAuthorization>()(
  "app/http/AdminAuthorization",
  { security: { bearer: HttpApiSecurity.bearer }, error: Unauthorized }
) {}

export class SupportAuthorization extends HttpApiMiddleware.Service<SupportAuthorization>()(
  "app/http/SupportAuthorization",
  { security: { bearer: HttpApiSecurity.bearer }, error: Unauthorized }
) {}
