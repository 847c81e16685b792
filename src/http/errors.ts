/**
 * Every error the API answers with has one body: `{success: false, error, code, details?}`.
 * One class per status, so the status travels with the value and into the OpenAPI document.
 */
import { Schema } from "effect"
import { HttpApiSchema } from "effect/http-api"
import { ImportRateLimited } from "../imports/ImportRateLimit.ts"

export const ErrorDetail = Schema.Struct({
  path: Schema.String.annotate({ examples: ["maxResults"] }),
  message: Schema.String
})
export type ErrorDetail = typeof ErrorDetail.Type

const errorFields = {
  success: Schema.Literal(false),
  error: Schema.String.annotate({ description: "Human-readable message, e.g. \"No Sales Navigator account found\"." }),
  code: Schema.String.annotate({
    description: "Stable machine code, e.g. NO_SALES_NAV_ACCOUNT, INSUFFICIENT_CREDITS, LIST_FORBIDDEN, VALIDATION_FAILED, UNAUTHORIZED."
  }),
  details: Schema.optionalKey(
    Schema.Array(ErrorDetail).annotate({ description: "For VALIDATION_FAILED, one entry per offending field." })
  )
}

export class BadRequest extends Schema.Class<BadRequest>("BadRequest")(errorFields, { httpApiStatus: 400 }) {}
export class Unauthorized extends Schema.Class<Unauthorized>("Unauthorized")(errorFields, { httpApiStatus: 401 }) {}
export class PaymentRequired extends Schema.Class<PaymentRequired>("PaymentRequired")(errorFields, { httpApiStatus: 402 }) {}
export class Forbidden extends Schema.Class<Forbidden>("Forbidden")(errorFields, { httpApiStatus: 403 }) {}
export class NotFound extends Schema.Class<NotFound>("NotFound")(errorFields, { httpApiStatus: 404 }) {}
export class Conflict extends Schema.Class<Conflict>("Conflict")(errorFields, { httpApiStatus: 409 }) {}
export class UnprocessableEntity extends Schema.Class<UnprocessableEntity>("UnprocessableEntity")(errorFields, {
  httpApiStatus: 422
}) {}
export class PayloadTooLarge extends Schema.Class<PayloadTooLarge>("PayloadTooLarge")(errorFields, { httpApiStatus: 413 }) {}
export class ServiceUnavailable extends Schema.Class<ServiceUnavailable>("ServiceUnavailable")(errorFields, {
  httpApiStatus: 503
}) {}

/** Builds an error body: `apiError(BadRequest, "VALIDATION_FAILED", "...", details)`. */
export const apiError = <E>(
  ErrorClass: new(fields: typeof ErrorBody.Type) => E,
  code: string,
  error: string,
  details?: ReadonlyArray<ErrorDetail>
): E => new ErrorClass({ success: false, error, code, ...(details ? { details } : {}) })
const ErrorBody = Schema.Struct(errorFields)

/**
 * 429 RATE_LIMITED: the usual error body, with the seconds to wait in Retry-After. Handlers
 * fail with the domain error; this is how it goes on the wire.
 */
export const TooManyRequests = ImportRateLimited.pipe(HttpApiSchema.encodeToWithHeaders({
  body: ErrorBody.annotate({ httpApiStatus: 429 }),
  headers: { "retry-after": Schema.NumberFromString.annotate({ description: "Seconds until the next import is allowed." }) }
}, {
  decode: ({ headers }) => new ImportRateLimited({ retryAfterSeconds: headers["retry-after"] }),
  encode: (e) => ({
    body: {
      success: false as const,
      code: "RATE_LIMITED",
      error: `Too many imports started: try again in ${e.retryAfterSeconds} s (the limit is per user; see Retry-After)`
    },
    headers: { "retry-after": e.retryAfterSeconds }
  })
}))

