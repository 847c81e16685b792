/**
 * The documentation the service serves carries the seed's guidance for API clients and AI
 * agents: the OpenAPI document (what /docs renders and clients are generated from) opens
 * with a quick start, the import's description says what to do before and after the call,
 * and the docs UI comes with the bearer scheme selected.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { call, client, TestApp } from "../support/server.ts"

layer(TestApp(), { excludeTestServices: true })("the served documentation", (it) => {
  it.effect("/openapi.json: a quick start, and the seed's guidance on the endpoints", () =>
    Effect.gen(function*() {
      const api = yield* client
      const doc = (yield* call(() => api.request("GET", "/openapi.json"))).body
      const intro: string = doc.info.description
      for (const words of ["sales-nav-access", "Idempotency-Key", "wasCapped", "fetch()", "Last-Event-ID", "Retry-After"]) {
        expect(intro).toContain(words)
      }
      const importOp = doc.paths["/api/lists/import-sales-nav"].post
      for (const words of ["No Sales Navigator account found", "wasCapped", "top-up", "Idempotency-Key", "/rows"]) {
        expect(importOp.description).toContain(words)
      }
      expect(doc.paths["/api/lists/sales-nav-access"].get.description).toMatch(/Call this first/)
      expect(doc.paths["/api/imports/{runId}/stream"].get.responses["200"].description).toContain("EventSource cannot send an Authorization header")
      expect(doc.components.securitySchemes.bearer.type).toBe("http")
      expect(doc.components.securitySchemes.bearer.scheme.toLowerCase()).toBe("bearer")
    }))

  it.effect("/docs: the docs UI with the bearer scheme selected, and its default (CDN) fonts off", () =>
    Effect.gen(function*() {
      const api = yield* client
      const page = yield* call(() => api.request("GET", "/docs"))
      expect(page.status).toBe(200)
      expect(page.headers.get("content-type")).toContain("text/html")
      expect(String(page.body)).toMatch(/"preferredSecurityScheme":\s*"bearer"/)
      expect(String(page.body)).toMatch(/"withDefaultFonts":\s*false/)
    }))
})
