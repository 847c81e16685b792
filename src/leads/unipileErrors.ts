/**
 * What a failed Unipile call means for an import: retry later (and when), or stop and
 * tell someone what to fix. One table maps every documented Unipile error type, v1
 * (`errors/...`) and v2 (`api/...` thrown by Unipile, `provider/...` forwarded from
 * LinkedIn), to a stable code and a message written for the person who can act on it;
 * types the table does not know fall back on the HTTP status.
 *
 * Sources: developer.unipile.com v1 API reference (error types per status, shared by
 * all LinkedIn routes) and v2 "Error responses" and "Rate limit" reference pages.
 */
import { Option, Schema } from "effect"
import { cleanText } from "./cleanText.ts"
import { LeadSourceError } from "./LeadSource.ts"
import { type Backoff, retryDelayMs, retryHintMs } from "./unipileBackoff.ts"

/** What one Unipile error type means for an import. */
export interface UnipileErrorRule {
  readonly kind: "transient" | "permanent"
  /** Stable machine code, shared by types that call for the same action. */
  readonly code: string
  /** For the person who can fix it: what happened and what to do. */
  readonly message: string
  /** Transient rules only: how the retry delay is chosen (none: the stage policy's short backoff). */
  readonly backoff?: Backoff
}

const RECONNECT = "Reconnect the LinkedIn account in your account settings, then restart the import."
const reconnect = (cause: string): UnipileErrorRule => ({
  kind: "permanent",
  code: "linkedin_reconnect_required",
  message: `${cause} ${RECONNECT}`
})

const OPERATOR = "This is a configuration problem on the service's side, not with your LinkedIn account: contact support."
const providerAuthFailed = (cause: string): UnipileErrorRule => ({
  kind: "permanent",
  code: "provider_auth_failed",
  message: `${cause} ${OPERATOR} (Operators: check UNIPILE_API_KEY, UNIPILE_DSN and UNIPILE_API_VERSION.)`
})

const accountRestricted: UnipileErrorRule = {
  kind: "permanent",
  code: "account_restricted",
  message: "LinkedIn has restricted this account, usually after too much automated activity. Pause all automation on it, " +
    "resolve the restriction in LinkedIn and wait before importing again: retrying now would make it worse."
}
const salesNavigatorRequired = (cause: string): UnipileErrorRule => ({
  kind: "permanent",
  code: "sales_navigator_required",
  message: `${cause} Enable Sales Navigator on this LinkedIn account (and reconnect it if it already has a seat), then restart the import.`
})
const insufficientPermissions: UnipileErrorRule = {
  kind: "permanent",
  code: "linkedin_insufficient_permissions",
  message: "This LinkedIn account is not allowed to open this search or lead list (for example a list owned by another " +
    "Sales Navigator user). Import a search or list that the connected account can open in Sales Navigator."
}
const invalidRequest: UnipileErrorRule = {
  kind: "permanent",
  code: "invalid_request",
  message: "Unipile rejected the search request. Check that the URL is a complete Sales Navigator people search or lead " +
    "list URL, copied from the browser's address bar."
}
const notFound: UnipileErrorRule = {
  kind: "permanent",
  code: "not_found",
  message: "Unipile could not find the connected LinkedIn account, or LinkedIn could not find the search or lead list. " +
    "Check that the account is still connected and that the URL opens in Sales Navigator for that account."
}
const notSupported: UnipileErrorRule = {
  kind: "permanent",
  code: "not_supported",
  message: "Unipile does not support this kind of search for this account. Import a Sales Navigator people search or lead list."
}
const rateLimited = (backoff: Backoff): UnipileErrorRule => ({
  kind: "transient",
  code: "rate_limited",
  message: "LinkedIn or Unipile is throttling this account. The import pauses and retries by itself; if this keeps " +
    "happening, run fewer imports on this account per day.",
  backoff
})
const upstreamUnavailable: UnipileErrorRule = {
  kind: "transient",
  code: "upstream_unavailable",
  message: "Unipile or LinkedIn did not complete the request (Unipile also reports LinkedIn throttling this way). " +
    "The import waits and retries by itself.",
  backoff: "server_error"
}
const limitReached: UnipileErrorRule = {
  kind: "permanent",
  code: "linkedin_limit_reached",
  message: "LinkedIn's usage limit for this account is reached. Wait for LinkedIn to reset it (daily or monthly) before importing again."
}

/**
 * Every documented Unipile error type a Sales Navigator search can meet, with what it
 * means for the import. Types are unique across versions: v1 ones start with
 * `errors/`, v2 ones with `api/` (thrown by Unipile) or `provider/` (forwarded from
 * LinkedIn). Messaging-only v1 types (recipients, InMail, IMAP/SMTP, folders...) are
 * left out: a search cannot cause them, and the status fallback covers them anyway.
 */
export const unipileErrorTable: Readonly<Record<string, UnipileErrorRule>> = {
  // v1, 400
  "errors/invalid_parameters": invalidRequest,
  "errors/malformed_request": invalidRequest,
  "errors/missing_parameters": invalidRequest,
  "errors/invalid_url": invalidRequest,
  "errors/unescaped_characters": invalidRequest,
  "errors/too_many_characters": invalidRequest,
  "errors/content_too_large": invalidRequest,
  // v1, 401: the service's own Unipile credentials...
  "errors/missing_credentials": providerAuthFailed("Unipile did not receive the service's API key."),
  "errors/invalid_credentials": providerAuthFailed("Unipile rejected the service's API key."),
  "errors/insufficient_privileges": providerAuthFailed("The service's Unipile API key is not allowed to use this LinkedIn account."),
  // ...and the LinkedIn session behind the account.
  "errors/disconnected_account": reconnect("LinkedIn disconnected this account from Unipile."),
  "errors/expired_credentials": reconnect("The LinkedIn session of this account has expired."),
  "errors/checkpoint_error": reconnect("LinkedIn asked this account for a verification step (checkpoint) that could not be completed."),
  "errors/invalid_checkpoint_solution": reconnect("LinkedIn's verification step (checkpoint) for this account failed."),
  "errors/multiple_sessions": reconnect("LinkedIn asked which session to keep for this account, which can disconnect it."),
  "errors/wrong_account": reconnect("The LinkedIn session connected in Unipile belongs to another LinkedIn account."),
  "errors/disconnected_feature": reconnect("The Sales Navigator part of this LinkedIn connection is disconnected."),
  // v1, 403
  "errors/account_restricted": accountRestricted,
  "errors/feature_not_subscribed": salesNavigatorRequired(
    "This LinkedIn account cannot use Sales Navigator: it has no Sales Navigator subscription, or the seat was not " +
      "picked up when the account was connected."
  ),
  "errors/subscription_required": salesNavigatorRequired("This search needs a Sales Navigator subscription on the LinkedIn account."),
  "errors/insufficient_permissions": insufficientPermissions,
  "errors/resource_access_restricted": insufficientPermissions,
  "errors/account_mismatch": reconnect("The LinkedIn session connected in Unipile does not match this account."),
  "errors/session_mismatch": reconnect("The LinkedIn session connected in Unipile does not match this account."),
  "errors/unknown_authentication_context": reconnect("LinkedIn asks for an additional login step for this account."),
  "errors/action_required": reconnect("LinkedIn needs an extra step completed in the LinkedIn app for this account."),
  // v1, 404
  "errors/resource_not_found": notFound,
  "errors/invalid_resource_identifier": notFound,
  // v1, 422
  "errors/invalid_account": salesNavigatorRequired("The connected account cannot run Sales Navigator searches."),
  "errors/limit_exceeded": limitReached,
  "errors/limit_too_high": invalidRequest,
  "errors/unprocessable_entity": invalidRequest,
  "errors/account_configuration_error": reconnect("Unipile reports a configuration problem with this LinkedIn connection."),
  "errors/provider_unreachable": upstreamUnavailable,
  // v1, 429 (in v1 every throttle comes from LinkedIn, forwarded by Unipile)
  "errors/too_many_requests": rateLimited("throttle"),
  // v1, 5xx (500 is also how Unipile reports LinkedIn throttling)
  "errors/unexpected_error": upstreamUnavailable,
  "errors/provider_error": upstreamUnavailable,
  "errors/feature_not_implemented": notSupported,
  "errors/no_client_session": upstreamUnavailable,
  "errors/no_channel": upstreamUnavailable,
  "errors/no_handler": upstreamUnavailable,
  "errors/network_down": upstreamUnavailable,
  "errors/service_unavailable": upstreamUnavailable,
  "errors/request_timeout": upstreamUnavailable,

  // v2, thrown by Unipile itself
  "api/invalid_parameters": invalidRequest,
  "api/invalid_auth_format": providerAuthFailed("Unipile could not read the service's API key."),
  "api/missing_authorization": providerAuthFailed("Unipile did not receive the service's API key."),
  "api/expired_authorization": providerAuthFailed("The service's Unipile API key has expired."),
  "api/insufficient_permissions": providerAuthFailed(
    "The service's Unipile API key may not act for this account (keys are scoped to one Unipile application)."
  ),
  "api/inactive_subscription": {
    kind: "permanent",
    code: "provider_subscription_inactive",
    message: `The service's Unipile subscription is inactive. ${OPERATOR}`
  },
  "api/account_restricted": {
    kind: "permanent",
    code: "provider_account_restricted",
    message: "Unipile (not LinkedIn) refuses to act for this LinkedIn account. Contact support; operators should check the " +
      "account in the Unipile dashboard."
  },
  "api/resource_not_found": notFound,
  "api/conflict": invalidRequest,
  "api/already_exists": invalidRequest,
  "api/too_many_requests": rateLimited("throttle"),
  "api/internal_error": upstreamUnavailable,
  "api/not_implemented": notSupported,
  "api/proxy_error": upstreamUnavailable,
  "api/proxy_timeout": upstreamUnavailable,
  "api/proxy_auth_error": {
    ...upstreamUnavailable,
    message: "Unipile's proxy for this LinkedIn account failed to authenticate. The import retries by itself; if it " +
      "keeps failing, contact support (operators: check the account's proxy settings in Unipile)."
  },
  // v2, forwarded from LinkedIn
  "provider/invalid_parameters": invalidRequest,
  "provider/invalid_authorization": reconnect("LinkedIn no longer accepts this account's session."),
  "provider/invalid_credentials": reconnect("LinkedIn rejected this account's credentials."),
  "provider/account_mismatch": reconnect("The LinkedIn session connected in Unipile does not match this account."),
  "provider/invalid_checkpoint_code": reconnect("LinkedIn's verification step (checkpoint) for this account failed."),
  "provider/unknown_authentication_context": reconnect("LinkedIn asks for an additional login step for this account."),
  "provider/insufficient_permissions": insufficientPermissions,
  "provider/resource_not_found": notFound,
  "provider/method_not_allowed": notSupported,
  "provider/conflict": invalidRequest,
  "provider/invalid_file": invalidRequest,
  "provider/unprocessable_entity": invalidRequest,
  "provider/too_many_requests": rateLimited("provider_throttle"),
  "provider/server_error": upstreamUnavailable,
  "provider/timeout": upstreamUnavailable
}

/** What an error type the table does not know (or a body without one) means, by HTTP status. */
export const ruleForStatus = (status: number): UnipileErrorRule =>
  status === 401
    // Unipile answers its own authentication failures with 401; LinkedIn-side ones always carry a known type.
    ? providerAuthFailed("Unipile refused the service's credentials (401).")
    : status === 403
    ? {
      kind: "permanent",
      code: "forbidden",
      message: "Unipile refused the request for this LinkedIn account. Check that the account is connected and has Sales Navigator."
    }
    : status === 404
    ? notFound
    : status === 400 || status === 422
    ? invalidRequest
    : status === 408
    ? { kind: "transient", code: "timeout", message: "Unipile timed out waiting for the request. The import retries by itself." }
    : status === 429
    ? rateLimited("throttle")
    : status >= 500
    ? upstreamUnavailable
    : { kind: "permanent", code: "unexpected_status", message: `Unipile answered with an unexpected HTTP status ${status}.` }

// ---------------------------------------------------------------------------------
// Answers to errors.

/** A non-2xx answer from Unipile. Header names are lower case. */
export interface UnipileFailure {
  readonly status: number
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body: string
}

/** Both versions' error bodies: v1 `{ status, type, title }`, v2 RFC 7807 `{ object: "Error", type, status, title, detail, req_id }`. */
const ErrorBody = Schema.fromJsonString(Schema.Struct({
  type: Schema.optional(Schema.String),
  title: Schema.optional(Schema.String),
  detail: Schema.optional(Schema.String),
  req_id: Schema.optional(Schema.String)
}))

const clip = (text: string, max = 200) => (text.length > max ? `${text.slice(0, max)}…` : text)

/**
 * The LeadSourceError for a failed answer: the table's rule for its type (or the
 * status fallback), the provider's own words in brackets, and for transient failures
 * the delay before the next attempt. `random` is uniform in [0, 1).
 */
export const errorFromResponse = (failure: UnipileFailure, nowMs: number, random: number): LeadSourceError => {
  const parsed = Option.getOrUndefined(Schema.decodeUnknownOption(ErrorBody)(failure.body))
  const type = parsed?.type?.trim() ?? ""
  const rule = unipileErrorTable[type] ?? ruleForStatus(failure.status)
  const said = [parsed?.title, parsed?.detail].filter((s) => s !== undefined && s.trim() !== "").join(": ") ||
    clip(failure.body.trim()) || "no details"
  const reqId = parsed?.req_id === undefined ? "" : `, req_id ${parsed.req_id}`
  const message = cleanText(`${rule.message} [Unipile ${failure.status}${type === "" ? "" : ` ${type}`}: ${clip(said)}${reqId}]`)
  if (rule.kind === "permanent") return new LeadSourceError({ kind: "permanent", code: rule.code, message })
  const hint = retryHintMs(failure.headers, nowMs)
  return new LeadSourceError({
    kind: "transient",
    code: rule.code,
    message,
    ...(rule.backoff === undefined ? {} : { retryAfterMs: retryDelayMs(rule.backoff, hint, random) })
  })
}

/** A transient LeadSourceError (retryAfterMs only when given). */
export const transient = (code: string, message: string, retryAfterMs?: number) =>
  new LeadSourceError({ kind: "transient", code, message, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) })

/** A permanent LeadSourceError. */
export const permanent = (code: string, message: string) => new LeadSourceError({ kind: "permanent", code, message })
