/**
 * Every request that fails its schema is a 400 with the contract's body: INVALID_JSON for a
 * body that is not JSON, else VALIDATION_FAILED with one detail per offending field.
 */
import { Effect, SchemaIssue } from "effect"
import { HttpApiMiddleware } from "effect/http-api"
import { ValidationErrors } from "./Api.ts"
import { apiError, BadRequest, type ErrorDetail } from "./errors.ts"

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

export const ValidationErrorsLive = HttpApiMiddleware.layerSchemaErrorTransform(ValidationErrors, (error) => {
  if (error.kind === "Body" || error.kind === "ResponseHeaders") return Effect.die(error)
  const issues = formatIssues(error.cause.issue).issues
  if (error.kind === "Payload" && issues.some((i) => i.message === "Expected a valid JSON body")) {
    return Effect.fail(apiError(BadRequest, "INVALID_JSON", "Malformed JSON body"))
  }
  const where = { Payload: "body", Query: "query", Params: "path", Headers: "headers" }[error.kind] ?? error.kind
  // One detail per offending field (the contract's rule), its messages joined.
  const byPath = new Map<string, Array<string>>()
  for (const issue of issues) {
    // The offending field's path ("maxResults", "profile.name"); the slot itself when the whole value is wrong.
    const path = (issue.path ?? []).map((p) => String(typeof p === "object" && p !== null ? (p as { key: PropertyKey }).key : p))
      .join(".") || where
    byPath.set(path, [...(byPath.get(path) ?? []), issue.message])
  }
  const details: Array<ErrorDetail> = [...byPath].map(([path, messages]) => ({ path, message: messages.join("; ") }))
  return Effect.fail(apiError(BadRequest, "VALIDATION_FAILED", `Invalid request ${where}`, details))
})
