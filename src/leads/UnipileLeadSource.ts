/**
 * The real people search: Unipile's LinkedIn API, v2 (default) or v1 as
 * UNIPILE_API_VERSION says, one POST per page (unipileV1.ts, unipileV2.ts).
 *
 * Whatever the version: a request without a Unipile account id fails before anything
 * is sent; paging is checked rather than trusted (unipilePaging.ts); every Unipile
 * error becomes a LeadSourceError with a code and an actionable message, transient
 * ones with a long enough retry delay (unipileErrors.ts, unipileBackoff.ts); and every
 * string of every lead is cleaned for PostgreSQL (cleanText.ts).
 *
 * A 2xx body that is not the documented JSON is transient (`malformed_response`): in
 * practice it is a proxy or gateway page or a cut-off body, which a retry heals; the
 * caller's retry budget bounds the rare permanent case.
 */
import { Config, Effect, Layer, Schema } from "effect"
import { FetchHttpClient, HttpClient } from "effect/http"
import { cleanLead } from "./cleanText.ts"
import { LeadSource, type PageRequest } from "./LeadSource.ts"
import { permanent } from "./unipileErrors.ts"
import { makeExchange, type UnipileConnection } from "./unipileHttp.ts"
import { fetchPageV1 } from "./unipileV1.ts"
import { fetchPageV2 } from "./unipileV2.ts"

export { unipileBaseUrl } from "./unipileHttp.ts"

/** Which Unipile API the organisation's key belongs to (v1 and v2 accounts are separate). */
export type UnipileApiVersion = "v1" | "v2"

/** Where and how to reach Unipile. */
export interface UnipileOptions extends UnipileConnection {
  readonly apiVersion: UnipileApiVersion
}

/** A Unipile-backed LeadSource on the given HttpClient. */
export const makeUnipileLeadSource = Effect.fn("makeUnipileLeadSource")(function*(options: UnipileOptions) {
  const exchange = makeExchange(yield* HttpClient.HttpClient, options)
  const fetchVersion = options.apiVersion === "v1" ? fetchPageV1(exchange) : fetchPageV2(exchange)

  const fetchPage = Effect.fn("UnipileLeadSource.fetchPage")(function*(request: PageRequest) {
    const accountId = request.providerAccountId?.trim() ?? ""
    if (accountId === "") {
      return yield* Effect.fail(permanent(
        "missing_provider_account",
        `LinkedIn account ${request.accountId} is not connected through Unipile: connect it in your account settings, then restart the import.`
      ))
    }
    const page = yield* fetchVersion(request, accountId)
    return { ...page, leads: page.leads.map(cleanLead) }
  })

  return LeadSource.of({ name: "unipile", fetchPage })
})

/**
 * UNIPILE_DSN and UNIPILE_API_KEY (required), UNIPILE_API_VERSION (`v1` or `v2`,
 * default `v2`), UNIPILE_TIMEOUT_MS (default 30,000).
 */
export const unipileOptionsConfig: Config.Config<UnipileOptions> = Config.all({
  dsn: Config.NonEmptyString("UNIPILE_DSN"),
  apiKey: Config.Redacted("UNIPILE_API_KEY"),
  apiVersion: Config.Literals(["v1", "v2"], "UNIPILE_API_VERSION").pipe(Config.withDefault("v2" as const)),
  timeoutMs: Config.schema(Schema.Int.check(Schema.isGreaterThan(0)), "UNIPILE_TIMEOUT_MS").pipe(Config.withDefault(30_000))
})

/** Layers providing `LeadSource` through Unipile, over fetch. */
export const UnipileLeadSource = {
  /** With explicit options. */
  layer: (options: UnipileOptions): Layer.Layer<LeadSource> =>
    Layer.effect(LeadSource, makeUnipileLeadSource(options)).pipe(Layer.provide(FetchHttpClient.layer)),
  /** With options read from UNIPILE_DSN, UNIPILE_API_KEY, UNIPILE_API_VERSION and UNIPILE_TIMEOUT_MS. */
  layerConfig: Layer.effect(LeadSource, Effect.flatMap(unipileOptionsConfig, makeUnipileLeadSource)).pipe(
    Layer.provide(FetchHttpClient.layer)
  )
} as const
