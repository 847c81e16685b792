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
