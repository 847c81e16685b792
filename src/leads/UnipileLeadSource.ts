/**
 * The real people search: Unipile's LinkedIn search API (v1), one POST per page.
 *
 * `POST {base}/api/v1/linkedin/search?account_id=&limit=25[&cursor=]` with `X-API-KEY`
 * and `{ "url": <the Sales Navigator URL, untouched> }`. Items are mapped leniently
 * (any field may be missing); failures become LeadSourceError: 429, 408, 5xx, timeouts,
 * network errors and unreadable 2xx bodies are transient, everything the account or the
 * request must change first (restricted, disconnected, not subscribed, 4xx) is permanent.
 *
 * A 2xx body that is not the documented JSON is treated as transient
 * (`malformed_response`): in practice it is a proxy or gateway page or a cut-off body,
 * which a retry heals; the caller's retry budget bounds the rare permanent case.
 */
import { Clock, Config, Effect, Layer, Option, Redacted, Schema } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "effect/http"
import type { Lead } from "../../events/lead.ts"
import { type LeadPage, LeadSource, LeadSourceError, PAGE_SIZE, type PageRequest } from "./LeadSource.ts"

/** Where and how to reach Unipile. */
export interface UnipileOptions {
  /** "api8.unipile.com:13851" (https is assumed) or a full base URL such as "http://127.0.0.1:4010". */
  readonly dsn: string
  readonly apiKey: Redacted.Redacted<string>
  /** Limit for one request, response body included. */
  readonly timeoutMs: number
}

/** The base URL a DSN stands for, without a trailing slash. */
export const unipileBaseUrl = (dsn: string): string =>
  (/^https?:\/\//i.test(dsn.trim()) ? dsn.trim() : `https://${dsn.trim()}`).replace(/\/+$/, "")

const transient = (code: string, message: string, retryAfterMs?: number) =>
  new LeadSourceError({ kind: "transient", code, message, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) })
const permanent = (code: string, message: string) => new LeadSourceError({ kind: "permanent", code, message })

// ---------------------------------------------------------------------------------
// Items to leads.

type Fields = Readonly<Record<string, unknown>>
const isFields = (value: unknown): value is Fields => typeof value === "object" && value !== null && !Array.isArray(value)
const text = (value: unknown): string | null =>
  typeof value === "string" && value.trim() !== "" ? value.trim() : typeof value === "number" ? String(value) : null

const publicIdentifierOf = (url: string | null) => (url === null ? null : /\/in\/([^/?#]+)/.exec(url)?.[1] ?? null)
const memberUrnOf = (value: unknown) => {
  const urn = text(value)
  return urn !== null && /^\d+$/.test(urn) ? `urn:li:member:${urn}` : urn
}

/**
 * One Unipile search item as a Lead. Sales Navigator items carry `id` ("ACwAA..."),
 * `member_urn`, `public_identifier`, `public_profile_url`, `profile_url` (the
 * search-scoped Sales Navigator link), names, `headline`, `location` and
 * `current_positions[{ company, role }]`; any of them may be missing.
 */
export const leadFromUnipileItem = (item: Fields): Lead => {
  const position = Array.isArray(item.current_positions) && isFields(item.current_positions[0])
    ? item.current_positions[0]
    : {}
  const profileUrl = text(item.profile_url)
  const publicUrl = text(item.public_profile_url) ?? (profileUrl?.includes("/in/") ? profileUrl : null)
  const publicIdentifier = text(item.public_identifier) ?? publicIdentifierOf(publicUrl)
  const name = text(item.name) ?? text(item.full_name)
  const [nameFirst = "", ...nameRest] = name?.split(/\s+/) ?? []
  const firstName = text(item.first_name) ?? nameFirst
  const lastName = text(item.last_name) ?? nameRest.join(" ")
  return {
    salesNavId: text(item.id),
    memberUrn: memberUrnOf(item.member_urn),
    publicIdentifier,
    linkedinUrl: publicUrl ?? (publicIdentifier === null ? null : `https://www.linkedin.com/in/${publicIdentifier}`),
    salesNavUrl: profileUrl?.includes("/sales/") ? profileUrl : null,
    firstName,
    lastName,
    fullName: name ?? `${firstName} ${lastName}`.trim(),
    headline: text(item.headline),
    currentRole: text(position.role) ?? text(position.title),
    currentCompany: text(position.company) ?? text(position.company_name) ?? text(item.current_company_name),
    location: text(item.location)
  }
}

const SearchResponse = Schema.fromJsonString(Schema.Struct({
  items: Schema.Array(Schema.Unknown),
  cursor: Schema.optional(Schema.NullOr(Schema.String)),
  paging: Schema.optional(Schema.NullOr(Schema.Struct({ total_count: Schema.optional(Schema.NullOr(Schema.Number)) })))
}))

/** A 2xx body as a page; a body that is not the documented JSON is a transient malformed_response. */
const pageFromBody = (body: string): Effect.Effect<LeadPage, LeadSourceError> =>
  Option.match(Schema.decodeUnknownOption(SearchResponse)(body), {
    onNone: () => Effect.fail(transient("malformed_response", `Unipile answered 2xx with an unreadable body: ${body.slice(0, 200)}`)),
    onSome: (response) => {
      const items = response.items.filter(isFields)
      const other = items.find((item) => item.type !== undefined && item.type !== "PEOPLE")
      if (other !== undefined) {
        return Effect.fail(permanent("not_a_people_search", `The URL returns ${String(other.type)} results, not people`))
      }
      return Effect.succeed({
        leads: items.map(leadFromUnipileItem),
        // An empty page ends the search even when a cursor comes with it.
        nextCursor: items.length === 0 ? null : response.cursor ?? null,
        totalAvailable: response.paging?.total_count ?? null
      })
    }
  })

// ---------------------------------------------------------------------------------
// Errors.

const ErrorBody = Schema.fromJsonString(Schema.Struct({
  type: Schema.optional(Schema.String),
  title: Schema.optional(Schema.String),
  detail: Schema.optional(Schema.String)
}))

/** Retry-After as milliseconds: delay-seconds or an HTTP date. */
export const retryAfterMs = (header: string | undefined, nowMs: number): number | undefined => {
  const value = header?.trim()
  if (value === undefined || value === "") return undefined
  if (/^\d+$/.test(value)) return Number(value) * 1000
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs)
}

/** Unipile error types that no retry can heal, with our code for each. */
const permanentTypes: Readonly<Record<string, string>> = {
  "errors/account_restricted": "account_restricted",
  "errors/disconnected_account": "disconnected_account",
  "errors/feature_not_subscribed": "feature_not_subscribed",
  "errors/invalid_credentials": "unauthorized",
  "errors/missing_credentials": "unauthorized"
}

const codeForStatus = (status: number): string =>
  status === 401 ? "unauthorized"
  : status === 403 ? "forbidden"
  : status === 404 ? "not_found"
  : status === 400 || status === 422 ? "invalid_request"
  : "unexpected_status"

/** A non-2xx answer as an error: 429 and too_many_requests, 408 and 5xx are transient, the rest permanent. */
export const errorFromResponse = (status: number, body: string, retryAfter: string | undefined, nowMs: number) => {
  const parsed = Option.getOrElse(Schema.decodeUnknownOption(ErrorBody)(body), () => ({} as typeof ErrorBody.Type))
  const type = parsed.type ?? ""
  const message = `Unipile ${status}${type === "" ? "" : ` ${type}`}: ${parsed.title ?? parsed.detail ?? (body.slice(0, 200) || "no details")}`
  if (status === 429 || type === "errors/too_many_requests") {
    return transient("rate_limited", message, retryAfterMs(retryAfter, nowMs))
  }
  const known = permanentTypes[type]
  if (known !== undefined) return permanent(known, message)
  if (status >= 500) return transient("upstream_unavailable", message, retryAfterMs(retryAfter, nowMs))
  if (status === 408) return transient("timeout", message)
  return permanent(codeForStatus(status), message)
}

// ---------------------------------------------------------------------------------
// The service.

/** A Unipile-backed LeadSource on the given HttpClient. */
export const makeUnipileLeadSource = Effect.fn("makeUnipileLeadSource")(function*(options: UnipileOptions) {
  const client = yield* HttpClient.HttpClient
  const endpoint = `${unipileBaseUrl(options.dsn)}/api/v1/linkedin/search`

  const exchange = (request: PageRequest, accountId: string) =>
    HttpClientRequest.post(endpoint).pipe(
      HttpClientRequest.setUrlParams({
        account_id: accountId,
        limit: String(PAGE_SIZE),
        ...(request.cursor === null ? {} : { cursor: request.cursor })
      }),
      HttpClientRequest.setHeader("X-API-KEY", Redacted.value(options.apiKey)),
      HttpClientRequest.acceptJson,
      HttpClientRequest.bodyJsonUnsafe({ url: request.url }),
      client.execute,
      Effect.flatMap((response) =>
        Effect.map(response.text, (body) => ({ status: response.status, retryAfter: response.headers["retry-after"], body }))
      ),
      Effect.mapError((error) => transient("network", `Unipile unreachable: ${error.message}`)),
      Effect.timeoutOrElse({
        duration: options.timeoutMs,
        orElse: () => Effect.fail(transient("timeout", `Unipile did not answer within ${options.timeoutMs} ms`))
      })
    )

  const fetchPage = Effect.fn("UnipileLeadSource.fetchPage")(function*(request: PageRequest) {
    if (request.providerAccountId === null || request.providerAccountId.trim() === "") {
      return yield* Effect.fail(permanent("missing_provider_account", `LinkedIn account ${request.accountId} is not connected through Unipile`))
    }
    const answer = yield* exchange(request, request.providerAccountId)
    if (answer.status >= 200 && answer.status < 300) return yield* pageFromBody(answer.body)
    return yield* Effect.fail(errorFromResponse(answer.status, answer.body, answer.retryAfter, yield* Clock.currentTimeMillis))
  })

  return LeadSource.of({ name: "unipile", fetchPage })
})

/** UNIPILE_DSN and UNIPILE_API_KEY (required), UNIPILE_TIMEOUT_MS (default 30,000). */
export const unipileOptionsConfig: Config.Config<UnipileOptions> = Config.all({
  dsn: Config.NonEmptyString("UNIPILE_DSN"),
  apiKey: Config.Redacted("UNIPILE_API_KEY"),
  timeoutMs: Config.schema(Schema.Int.check(Schema.isGreaterThan(0)), "UNIPILE_TIMEOUT_MS").pipe(Config.withDefault(30_000))
})

/** Layers providing `LeadSource` through Unipile, over fetch. */
export const UnipileLeadSource = {
  /** With explicit options. */
  layer: (options: UnipileOptions): Layer.Layer<LeadSource> =>
    Layer.effect(LeadSource, makeUnipileLeadSource(options)).pipe(Layer.provide(FetchHttpClient.layer)),
  /** With options read from UNIPILE_DSN, UNIPILE_API_KEY and UNIPILE_TIMEOUT_MS. */
  layerConfig: Layer.effect(LeadSource, Effect.flatMap(unipileOptionsConfig, makeUnipileLeadSource)).pipe(
    Layer.provide(FetchHttpClient.layer)
  )
} as const
