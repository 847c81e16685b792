/**
 * The MCP endpoint: Streamable HTTP at /mcp on the service's own HTTP server, next to the API.
 * Every request carries the user's API token exactly as the API does (Authorization: Bearer);
 * without a valid one it is answered 401 with the API's body before the MCP server sees it,
 * so no tool is listed or run. The tools then run as that user (CurrentUser), like the API's
 * handlers. Sessions (the protocol's Mcp-Session-Id) live in this process; DELETE ends one.
 */
import { Effect, Layer, Option, Redacted, Schema } from "effect"
import { McpProtocol, McpSchema, McpServer } from "effect/ai"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { HttpApiBuilder, HttpApiSecurity } from "effect/http-api"
import { Accounts } from "../accounts/Accounts.ts"
import { RunId } from "../http/Api.ts"
import { unauthorized } from "../http/authorization.ts"
import { databaseUnavailable, SERVICE_UNAVAILABLE } from "../http/errorEdges.ts"
import { Unauthorized } from "../http/errors.ts"
import { importNotFound } from "../http/handlers/responses.ts"
import { CurrentUser } from "../http/Security.ts"
import { Imports } from "../imports/Imports.ts"
import { SERVER_INSTRUCTIONS, TIMELINE_DESCRIPTION } from "./guidance.ts"
import { SalesNavToolsLive } from "./handlers.ts"
import { timelineText } from "../imports/timeline.ts"
import { SalesNavTools } from "./tools.ts"

export const MCP_PATH = "/mcp"

const encodeUnauthorized = Schema.encodeSync(Unauthorized)

/** The API's bearer check (src/http/authorization.ts) in front of every MCP request. */
const McpAuthorization = HttpRouter.middleware<{ provides: CurrentUser }>()(Effect.gen(function*() {
  const accounts = yield* Accounts
  return (httpEffect) =>
    Effect.gen(function*() {
      const credential = yield* HttpApiBuilder.securityDecode(HttpApiSecurity.bearer)
      const user = yield* accounts.authenticate(Redacted.value(credential)).pipe(Effect.orDie)
      if (Option.isNone(user)) {
        return HttpServerResponse.jsonUnsafe(encodeUnauthorized(unauthorized("Missing or unknown bearer token")), { status: 401 })
      }
      return yield* Effect.provideService(httpEffect, CurrentUser, user.value)
    })
}))

/**
 * An import's timeline as a resource an agent can read (or attach) by its run id. Another
 * user's run id reads as a missing one, as in the API; the error carries the API's code
 * (SERVICE_UNAVAILABLE too, when the database is unreachable).
 */
const ImportTimeline = Layer.unwrap(Effect.gen(function*() {
  const imports = yield* Imports
  return McpServer.resource`sales-nav-import://imports/${McpSchema.param("runId", RunId)}/timeline`({
    name: "Import timeline",
    description: TIMELINE_DESCRIPTION,
    mimeType: "text/plain",
    content: (_uri, runId) =>
      Effect.gen(function*() {
        const user = yield* CurrentUser
        const row = yield* imports.findByRunId(user.id, runId).pipe(Effect.orDie)
        if (Option.isNone(row)) return yield* Effect.fail(new Error(`${importNotFound.code}: ${importNotFound.error}`))
        return timelineText(yield* imports.events(row.value.import_id).pipe(Effect.orDie))
      }).pipe(Effect.catchCause((cause) =>
        databaseUnavailable(cause)
          ? Effect.fail(new Error(`${SERVICE_UNAVAILABLE.code}: ${SERVICE_UNAVAILABLE.error}`))
          : Effect.failCause(cause)
      ))
  })
}))

export const McpLive = McpServer.layerHttp({
  name: "sales-nav-import",
  version: "1",
  instructions: SERVER_INSTRUCTIONS,
  path: MCP_PATH,
  // The sessionful revisions that MCP clients speak today (the official TypeScript SDK: 2025-11-25).
  protocols: [McpProtocol.v2025_11_25, McpProtocol.v2025_06_18, McpProtocol.v2025_03_26],
  allowSessionTermination: true,
  registrations: Layer.merge(McpServer.toolkit(SalesNavTools).pipe(Layer.provide(SalesNavToolsLive)), ImportTimeline)
}).pipe(Layer.provide(McpAuthorization.layer))
