/**
 * One JSON POST to Unipile, the same for both API versions: the base URL a DSN stands
 * for, the X-API-KEY header, a time limit that covers the body too, and network
 * failures and timeouts as transient LeadSourceErrors. Non-2xx answers come back as
 * answers; `failureOf` turns one into the error the table in unipileErrors.ts says.
 */
import { Clock, Effect, Random, Redacted } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"
import type { LeadSourceError } from "./LeadSource.ts"
import { errorFromResponse, transient } from "./unipileErrors.ts"

/** The base URL a DSN stands for ("api8.unipile.com:13851" means https), without a trailing slash. */
export const unipileBaseUrl = (dsn: string): string =>
  (/^https?:\/\//i.test(dsn.trim()) ? dsn.trim() : `https://${dsn.trim()}`).replace(/\/+$/, "")

/** What Unipile answered: status, headers (lower-case names) and the body as text. */
export interface UnipileAnswer {
  readonly status: number
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body: string
}

/** One POST: a path under the base URL, query parameters and a JSON body. */
export interface UnipileCall {
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  readonly body: unknown
}

/** Sends one call; fails only when no answer arrived (network, timeout). */
export type Exchange = (call: UnipileCall) => Effect.Effect<UnipileAnswer, LeadSourceError>

/** Where and how to reach Unipile. */
export interface UnipileConnection {
  readonly dsn: string
  readonly apiKey: Redacted.Redacted<string>
  /** Limit for one request, response body included. */
  readonly timeoutMs: number
}

/** An Exchange over `client`. */
export const makeExchange = (client: HttpClient.HttpClient, connection: UnipileConnection): Exchange => {
  const base = unipileBaseUrl(connection.dsn)
  return (call) =>
    HttpClientRequest.post(`${base}${call.path}`).pipe(
      HttpClientRequest.setUrlParams(call.query),
      HttpClientRequest.setHeader("X-API-KEY", Redacted.value(connection.apiKey)),
      HttpClientRequest.acceptJson,
      HttpClientRequest.bodyJsonUnsafe(call.body),
      client.execute,
      Effect.flatMap((response) =>
        Effect.map(response.text, (body): UnipileAnswer => ({ status: response.status, headers: { ...response.headers }, body }))
      ),
      Effect.mapError((error) => transient("network", `Unipile unreachable: ${error.message}`)),
      Effect.timeoutOrElse({
        duration: connection.timeoutMs,
        orElse: () => Effect.fail(transient("timeout", `Unipile did not answer within ${connection.timeoutMs} ms`))
      })
    )
}

/** Is this a 2xx answer? */
export const isSuccess = (answer: UnipileAnswer): boolean => answer.status >= 200 && answer.status < 300

/** The error a non-2xx answer stands for, with the clock and jitter it needs. */
export const failureOf = (answer: UnipileAnswer): Effect.Effect<never, LeadSourceError> =>
  Effect.flatMap(
    Effect.all([Clock.currentTimeMillis, Random.next]),
    ([now, random]) => Effect.fail(errorFromResponse(answer, now, random))
  )
