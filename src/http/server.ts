/**
 * The HTTP app: the API definition (Api.ts) served with its handlers (handlers/, one call
 * into a service each), authorization, request validation and the error edges, the OpenAPI
 * document at /openapi.json, the docs UI at /docs and the web console at /console.
 */
import { Layer } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { ConsoleRoutes } from "../console/routes.ts"
import { Api } from "./Api.ts"
import { AdminAuthorizationLive, AuthorizationLive, SupportAuthorizationLive } from "./authorization.ts"
import { ErrorEdges } from "./errorEdges.ts"
import { lazyRoutes } from "./lazyRoutes.ts"
import { AdminHandlers } from "./handlers/admin.ts"
import { ImportsHandlers } from "./handlers/imports.ts"
import { ListsHandlers } from "./handlers/lists.ts"
import { SupportHandlers } from "./handlers/support.ts"
import { ValidationErrorsLive } from "./validation.ts"

export { MAX_BODY_BYTES } from "./errorEdges.ts"
export { sameSecret } from "./authorization.ts"

export const HttpApp = Layer.mergeAll(
  HttpApiBuilder.layer(Api, { openapiPath: "/openapi.json" }),
  // The docs UI: the bearer scheme selected for "Test Request", no fonts from a CDN.
  lazyRoutes([{ method: "GET", path: "/docs" }], async () => {
    const { HttpApiScalar } = await import("effect/http-api")
    return HttpApiScalar.layer(Api, { path: "/docs", scalar: { authentication: { preferredSecurityScheme: "bearer" }, withDefaultFonts: false } })
  }),
  ConsoleRoutes,
  ErrorEdges
).pipe(
  Layer.provide([ImportsHandlers, ListsHandlers, AdminHandlers, SupportHandlers]),
  Layer.provide([AuthorizationLive, AdminAuthorizationLive, SupportAuthorizationLive, ValidationErrorsLive])
)
