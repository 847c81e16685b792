/**
 * /console over a real socket: the page and every file it loads (following the JavaScript
 * modules' imports) are served with their content types, the strict Content-Security-Policy
 * and an ETag; the page has nothing inline for that policy to block; names that are not files
 * of the console answer the API's JSON 404, whatever they try.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { CONTENT_SECURITY_POLICY } from "../../src/console/routes.ts"
import { call, client, TestApp } from "../support/server.ts"

const get = (path: string, headers: Record<string, string> = {}) =>
  Effect.flatMap(client, (api) => call(() => fetch(`${api.baseUrl}${path}`, { headers })))

/** Every /console/ file the page names, and every module those modules import, transitively. */
const assetsOf = (html: string) => [...html.matchAll(/(?:src|href)="(\/console\/[^"]+)"/g)].map((m) => m[1]!)
const importsOf = (js: string) => [...js.matchAll(/^import [^"]*"\.\/([^"]+)"/gm)].map((m) => `/console/${m[1]!}`)

layer(TestApp(), { excludeTestServices: true })("the console's files", (it) => {
  it.effect("the page: HTML with the strict policy, and nothing inline for the policy to block", () =>
    Effect.gen(function*() {
      const response = yield* get("/console")
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8")
      expect(response.headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY)
      expect(CONTENT_SECURITY_POLICY).toMatch(/default-src 'none'/)
      expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-inline|unsafe-eval|\*/)
      expect(response.headers.get("x-content-type-options")).toBe("nosniff")
      expect(response.headers.get("referrer-policy")).toBe("no-referrer")
      const html = yield* call(() => response.text())
      // Scripts only from files, no inline handlers or style attributes, no other origin.
      expect([...html.matchAll(/<script\b[^>]*>/g)].every((m) => /\bsrc="\/console\//.test(m[0]))).toBe(true)
      expect(html).not.toMatch(/\son[a-z]+=|\sstyle=|<style\b|https?:\/\/(?!www\.linkedin\.com\/sales\/search\/people\?query=…)/)
      // Every label names a control that exists.
      const ids = new Set([...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]))
      const labelled = [...html.matchAll(/<label for="([^"]+)"/g)].map((m) => m[1])
      expect(labelled.length).toBeGreaterThan(8)
      expect(labelled.filter((id) => !ids.has(id))).toEqual([])
      expect((yield* get("/console/")).status).toBe(200)
    }))

  it.effect("every file the page loads, with its content type and the same policy; a reload costs a 304", () =>
    Effect.gen(function*() {
      const html = yield* Effect.flatMap(get("/console"), (response) => call(() => response.text()))
      const queue = assetsOf(html)
      const seen = new Set<string>()
      const types: Record<string, string> = { js: "text/javascript; charset=utf-8", css: "text/css; charset=utf-8", svg: "image/svg+xml" }
      while (queue.length > 0) {
        const path = queue.pop()!
        if (seen.has(path)) continue
        seen.add(path)
        const response = yield* get(path)
        expect(response.status, path).toBe(200)
        expect(response.headers.get("content-type"), path).toBe(types[path.split(".").at(-1)!])
        expect(response.headers.get("content-security-policy"), path).toBe(CONTENT_SECURITY_POLICY)
        const body = yield* call(() => response.text())
        if (path.endsWith(".js")) queue.push(...importsOf(body))
        const etag = response.headers.get("etag")!
        const again = yield* get(path, { "if-none-match": etag })
        expect(again.status, path).toBe(304)
        expect(yield* call(() => again.text())).toBe("")
      }
      expect([...seen]).toEqual(expect.arrayContaining(["/console/app.js", "/console/model.js", "/console/stream.js", "/console/console.css"]))
      expect(seen.size).toBeGreaterThanOrEqual(10)
    }))

  it.effect("anything else under /console is the API's JSON 404, traversal included", () =>
    Effect.gen(function*() {
      for (const path of ["/console/nope.js", "/console/..%2Fpackage.json", "/console/%2e%2e%2froutes.ts", "/console/routes.ts", "/console/web/app.js"]) {
        const response = yield* get(path)
        expect(response.status, path).toBe(404)
        expect(yield* call(() => response.json()), path).toMatchObject({ success: false, code: "NOT_FOUND" })
      }
    }))
})
