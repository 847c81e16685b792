/**
 * The web console at /console: plain HTML, CSS and JavaScript modules from src/console/web/,
 * read once when the server starts and served as they are (no build step). Every answer
 * carries a strict Content-Security-Policy — scripts, styles and fetches from this origin only,
 * nothing inline, no framing — and an ETag, so a reload costs a 304.
 */
import { Effect } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { createHash } from "node:crypto"
import { readdirSync, readFileSync } from "node:fs"
import { extname } from "node:path"

const WEB_DIR = new URL("./web/", import.meta.url)

export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png"
}

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'"
].join("; ")

const SECURITY_HEADERS = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cache-control": "no-cache"
}

interface StaticFile {
  readonly body: Uint8Array
  readonly contentType: string
  readonly etag: string
}

/**
 * Every file of web/ with a known type, by name (the directory is flat). Read synchronously (a
 * few small files, under a millisecond): the server is already listening while the routes are
 * built, and a read queued behind the database's file work in libuv's pool would keep requests
 * of that moment waiting for the router.
 */
const loadFiles = Effect.sync(() => {
  const files = new Map<string, StaticFile>()
  for (const name of readdirSync(WEB_DIR)) {
    const contentType = CONTENT_TYPES[extname(name)]
    if (contentType === undefined) continue
    const body = new Uint8Array(readFileSync(new URL(name, WEB_DIR)))
    const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`
    files.set(name, { body, contentType, etag })
  }
  return files
})

const serve = (file: StaticFile | undefined) =>
  Effect.map(HttpServerRequest.HttpServerRequest, (request) => {
    // Unknown names fall through to the error edges' JSON 404, like any unknown route.
    if (file === undefined) return HttpServerResponse.empty({ status: 404 })
    if (request.headers["if-none-match"] === file.etag) {
      return HttpServerResponse.empty({ status: 304, headers: { ...SECURITY_HEADERS, etag: file.etag } })
    }
    return HttpServerResponse.uint8Array(file.body, {
      contentType: file.contentType,
      headers: { ...SECURITY_HEADERS, etag: file.etag }
    })
  })

/** GET /console is the page; GET /console/<name> a file of web/. */
export const ConsoleRoutes = HttpRouter.use(Effect.fn(function*(router) {
  const files = yield* loadFiles
  // The router ignores a trailing slash: this is /console/ too.
  yield* router.add("GET", "/console", serve(files.get("index.html")))
  yield* router.add("GET", "/console/:name", Effect.flatMap(HttpRouter.params, ({ name }) => serve(files.get(name ?? ""))))
}))
