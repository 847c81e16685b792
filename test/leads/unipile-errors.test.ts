/**
 * The error table and retry delays, without HTTP: every documented error payload in the
 * fixtures becomes the expected kind and code with an actionable message, unknown types
 * fall back on the status, and retry delays stay long, jittered and capped.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import {
  MAX_BACKOFF_MS,
  RATE_LIMIT_BACKOFF_MS,
  retryAfterMs,
  retryDelayMs,
  retryHintMs,
  SERVER_ERROR_BACKOFF_MS
} from "../../src/leads/unipileBackoff.ts"
import { errorFromResponse, ruleForStatus, unipileErrorTable } from "../../src/leads/unipileErrors.ts"
import { type ErrorFixtures, fixture } from "./unipile-stub.ts"

const NOW = Date.parse("2026-11-20T12:00:00Z")
const v1 = fixture<ErrorFixtures>("v1-errors")
const v2 = fixture<ErrorFixtures>("v2-errors")

const failure = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
  status,
  headers,
  body: typeof body === "string" ? body : JSON.stringify(body)
})

describe("documented Unipile errors", () => {
  it("the fixtures cite their source and use only types the table knows", () => {
    for (const fixtures of [v1, v2]) {
      expect(fixtures.source).toMatch(/developer\.unipile\.com/)
      for (const { body } of fixtures.errors) expect(Object.keys(unipileErrorTable)).toContain(body.type)
    }
  })

  it.each([...v1.errors, ...v2.errors].map((e) => [e.body.type, e] as const))("%s", (type, e) => {
    const error = errorFromResponse(failure(e.status, e.body, e.headers), NOW, 0.5)
    expect(error).toMatchObject(e.expect)
    expect(error.message).toContain(unipileErrorTable[type]!.message)
    expect(error.message).toContain(`Unipile ${e.status} ${type}`)
  })

  it("says who must act: the user reconnects, the operator fixes the key", () => {
    const reconnect = Object.values(unipileErrorTable).filter((rule) => rule.code === "linkedin_reconnect_required")
    expect(reconnect.length).toBeGreaterThanOrEqual(10)
    for (const rule of reconnect) expect(rule.message).toContain("Reconnect the LinkedIn account")
    const operator = Object.values(unipileErrorTable).filter((rule) => rule.code === "provider_auth_failed")
    expect(operator.length).toBeGreaterThanOrEqual(6)
    for (const rule of operator) {
      expect(rule.message).toContain("not with your LinkedIn account")
      expect(rule.message).toContain("UNIPILE_API_KEY")
    }
    expect(unipileErrorTable["errors/account_restricted"]?.message).toMatch(/restricted.*wait/s)
    expect(unipileErrorTable["errors/feature_not_subscribed"]?.message).toContain("Enable Sales Navigator")
  })

  it("keeps the table well-formed: known prefixes, actionable messages, a delay rule on every transient entry", () => {
    for (const [type, rule] of Object.entries(unipileErrorTable)) {
      expect(type).toMatch(/^(errors|api|provider)\/[a-z_]+$/)
      expect(rule.code).toMatch(/^[a-z_]+$/)
      expect(rule.message.length).toBeGreaterThan(40)
      expect([type, rule.kind === "transient"]).toEqual([type, rule.backoff !== undefined])
    }
  })

  it("a known permanent type wins over a 5xx status, and the provider's words are cleaned", () => {
    const error = errorFromResponse(failure(500, { type: "errors/account_restricted", title: "Restr\u0000icted \uD800" }), NOW, 0)
    expect(error).toMatchObject({ kind: "permanent", code: "account_restricted" })
    expect(error.message).toContain("Restricted \uFFFD")
    expect(error.retryAfterMs).toBeUndefined()
  })
})

describe("types the table does not know", () => {
  it.each([
    [401, "provider_auth_failed", "permanent"],
    [403, "forbidden", "permanent"],
    [404, "not_found", "permanent"],
    [400, "invalid_request", "permanent"],
    [422, "invalid_request", "permanent"],
    [418, "unexpected_status", "permanent"],
    [408, "timeout", "transient"],
    [429, "rate_limited", "transient"],
    [500, "upstream_unavailable", "transient"],
    [502, "upstream_unavailable", "transient"],
    [503, "upstream_unavailable", "transient"],
    [504, "upstream_unavailable", "transient"]
  ] as const)("%i falls back to %s", (status, code, kind) => {
    for (const body of ["", "<html>Bad gateway</html>", JSON.stringify({ type: "errors/something_new", title: "New" })]) {
      const error = errorFromResponse(failure(status, body), NOW, 0.5)
      expect(error).toMatchObject({ kind, code })
      expect(ruleForStatus(status).code).toBe(code)
      expect(error.message).toContain(`Unipile ${status}`)
    }
  })

  it("a 401 without a type blames the service's key, not the user's account", () => {
    const error = errorFromResponse(failure(401, ""), NOW, 0.5)
    expect(error.message).toContain("not with your LinkedIn account")
  })
})

describe("retry delays", () => {
  const minOf = (base: number) => base * 0.8
  const maxOf = (base: number) => base * 1.2

  it("5xx: about 30 s, never a quick retry, a longer provider window wins, capped at 5 minutes", () => {
    expect(retryDelayMs("server_error", undefined, 0)).toBe(minOf(SERVER_ERROR_BACKOFF_MS))
    expect(retryDelayMs("server_error", undefined, 0.999999)).toBe(Math.round(maxOf(SERVER_ERROR_BACKOFF_MS)))
    expect(retryDelayMs("server_error", 1_000, 0.5)).toBe(SERVER_ERROR_BACKOFF_MS)
    expect(retryDelayMs("server_error", 120_000, 0.5)).toBe(120_000)
    expect(retryDelayMs("server_error", 3_600_000, 0.5)).toBe(MAX_BACKOFF_MS)
  })

  it("429: the provider's window when it gives one, else about a minute; a LinkedIn 429 never goes below that minute", () => {
    expect(retryDelayMs("throttle", 7_000, 0.5)).toBe(7_000)
    expect(retryDelayMs("throttle", undefined, 0.5)).toBe(RATE_LIMIT_BACKOFF_MS)
    expect(retryDelayMs("throttle", 86_400_000, 0.5)).toBe(MAX_BACKOFF_MS)
    expect(retryDelayMs("provider_throttle", 2_000, 0)).toBe(minOf(RATE_LIMIT_BACKOFF_MS))
    expect(retryDelayMs("provider_throttle", 200_000, 0)).toBe(200_000)
  })

  it("stays within [default - 20%, 5 minutes] for any jitter and hint", () => {
    fc.assert(fc.property(
      fc.constantFrom("server_error" as const, "provider_throttle" as const),
      fc.option(fc.nat({ max: 10_000_000 }), { nil: undefined }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (backoff, hint, random) => {
        const base = backoff === "server_error" ? SERVER_ERROR_BACKOFF_MS : RATE_LIMIT_BACKOFF_MS
        const delay = retryDelayMs(backoff, hint, random)
        expect(delay).toBeGreaterThanOrEqual(minOf(base))
        expect(delay).toBeLessThanOrEqual(MAX_BACKOFF_MS)
        if (hint === undefined || hint <= minOf(base)) expect(delay).toBeLessThanOrEqual(Math.round(maxOf(base)))
      }
    ))
  })

  it("reads Retry-After as seconds or as an HTTP date", () => {
    expect(retryAfterMs("7", NOW)).toBe(7_000)
    expect(retryAfterMs(" 120 ", NOW)).toBe(120_000)
    expect(retryAfterMs(new Date(NOW + 90_000).toUTCString(), NOW)).toBe(90_000)
    expect(retryAfterMs(new Date(NOW - 90_000).toUTCString(), NOW)).toBe(0)
    expect(retryAfterMs("soon", NOW)).toBeUndefined()
    expect(retryAfterMs(undefined, NOW)).toBeUndefined()
  })

  it("falls back on x-ratelimit-reset when the window is used up", () => {
    expect(retryHintMs({ "retry-after": "5", "x-ratelimit-reset": "40", "x-ratelimit-remaining": "0" }, NOW)).toBe(5_000)
    expect(retryHintMs({ "x-ratelimit-reset": "40", "x-ratelimit-remaining": "0" }, NOW)).toBe(40_000)
    expect(retryHintMs({ "x-ratelimit-reset": "40" }, NOW)).toBe(40_000)
    expect(retryHintMs({ "x-ratelimit-reset": "40", "x-ratelimit-remaining": "12" }, NOW)).toBeUndefined()
    expect(retryHintMs({}, NOW)).toBeUndefined()
  })

  it("an api/too_many_requests without Retry-After waits for x-ratelimit-reset", () => {
    const body = { object: "Error", type: "api/too_many_requests", status: 429, title: "Too many requests" }
    const error = errorFromResponse(failure(429, body, { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "24" }), NOW, 0.5)
    expect(error).toMatchObject({ kind: "transient", code: "rate_limited", retryAfterMs: 24_000 })
  })
})
