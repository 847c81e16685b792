/**
 * Every response the service sends carries the contract's JSON error body when it is an
 * error: bodies over 64 KiB (413), unknown routes, unsupported media types, a database that
 * cannot be reached (503 SERVICE_UNAVAILABLE with Retry-After, for every route, present and
 * future: handlers need do nothing), and defects (500, logged).
 */
import { ByteSize, Cause, Effect, type Layer } from "effect"
import { HttpIncomingMessage, HttpRouter, HttpServerError, HttpServerRequest, HttpServerResponse } from "effect/http"
import { isDatabaseUnavailable } from "../db/Database.ts"

/** Request bodies above this answer 413 (the contract's limit). */
export const MAX_BODY_BYTES = 64 * 1024

const jsonError = (status: number, code: string, error: string) =>
  HttpServerResponse.jsonUnsafe({ success: false, error, code }, { status })

const codeForStatus: Record<number, [string, string]> = {
  404: ["NOT_FOUND", "No such route"],
  405: ["METHOD_NOT_ALLOWED", "Method not allowed on this route"],
  413: ["PAYLOAD_TOO_LARGE", `Request body over ${MAX_BODY_BYTES / 1024} KiB`],
  415: ["UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json"]
}

/**
 * What a client is told to wait while the database is away. The pool reconnects on the next
 * request after it is back, so a short wait is enough; shorter would only add load to a recovery.
 */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5

/** The error body of a request that met an unreachable database (the MCP tools answer it too). */
export const SERVICE_UNAVAILABLE = {
  code: "SERVICE_UNAVAILABLE",
  error: `The database is unreachable: nothing was changed. Retry in ${UNAVAILABLE_RETRY_AFTER_SECONDS} s.`
} as const

/**
 * 503 SERVICE_UNAVAILABLE: the request met a database it cannot reach. A transaction cut by the
 * outage rolled back, and nothing is written while the database is away.
 */
const serviceUnavailable = () =>
  HttpServerResponse.jsonUnsafe({ success: false, ...SERVICE_UNAVAILABLE }, {
    status: 503,
    headers: { "retry-after": String(UNAVAILABLE_RETRY_AFTER_SECONDS) }
  })

/** Whether the request failed (or died) because the database could not be reached. */
export const databaseUnavailable = (cause: Cause.Cause<unknown>): boolean =>
  cause.reasons.some((r) => (r._tag === "Fail" && isDatabaseUnavailable(r.error)) || (r._tag === "Die" && isDatabaseUnavailable(r.defect)))

const isBodyTooLarge = (defect: unknown): boolean => {
  for (let e: any = defect, depth = 0; e !== undefined && e !== null && depth < 6; e = e.cause, depth++) {
    if (e?.name === "MaxBytesError" || e?._tag === "MaxBytesError" || /max(imum)? ?bytes|too large/i.test(String(e?.message))) {
      return true
    }
  }
  return false
}

/**
 * Every response the service sends carries the contract's JSON error body when it is
 * an error: bodies over 64 KiB (413), unknown routes, unsupported media types, an
 * unreachable database (503) and defects (500, logged) included.
 */
const errorEdges = (httpEffect: Effect.Effect<HttpServerResponse.HttpServerResponse, unknown, never>) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    if (Number(request.headers["content-length"] ?? 0) > MAX_BODY_BYTES) return jsonError(413, ...codeForStatus[413]!)
    const response = yield* httpEffect.pipe(
      Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(MAX_BODY_BYTES)),
      Effect.catchCause((cause) =>
        Effect.gen(function*() {
          if (cause.reasons.some((r) => r._tag === "Die" && isBodyTooLarge(r.defect))) {
            return jsonError(413, ...codeForStatus[413]!)
          }
          if (databaseUnavailable(cause)) {
            yield* Effect.logWarning(`${request.method} ${request.url}: the database is unreachable; answered 503`)
            return serviceUnavailable()
          }
          const [response, reported] = yield* HttpServerError.causeResponse(cause)
          if (response.status >= 500) yield* Effect.logError("request failed", reported)
          return response
        })
      )
    )
    const contentType = response.headers["content-type"] ?? ""
    if (response.status >= 400 && !contentType.includes("json")) {
      const [code, message] = codeForStatus[response.status] ??
        (response.status >= 500
          ? ["INTERNAL_ERROR", "Internal error"]
          : [`HTTP_${response.status}`, "Request failed"])
      return jsonError(response.status, code, message)
    }
    return response
  })

// It handles every error, which the router's types only allow for declared ones.
export const ErrorEdges = HttpRouter.middleware(errorEdges as any, { global: true }) as Layer.Layer<never>
