/**
 * How long to wait before retrying a Unipile call that failed transiently: the numbers,
 * and how the provider's own hints (Retry-After, x-ratelimit-*) are read.
 *
 * Unipile answers LinkedIn throttling with 429 or with a 500, and warns that hammering
 * it with quick retries is what gets accounts restricted. So every 5xx waits about
 * SERVER_ERROR_BACKOFF_MS (24-36 s with the jitter) and a 429 without a usable window
 * about RATE_LIMIT_BACKOFF_MS (48-72 s): long enough for a per-minute window to pass,
 * short enough that the 8 attempts of the stage retry policy still span several
 * minutes rather than hours. The jitter keeps imports that failed together from
 * retrying together. A provider window longer than ours wins, up to MAX_BACKOFF_MS, so
 * one odd header cannot park an import for hours (the stage simply fails again and
 * waits again). Network errors and timeouts carry no delay: the stage retry policy's
 * own short exponential backoff applies.
 */

/** Base wait after a 5xx (Unipile's way of reporting LinkedIn throttling, among others). */
export const SERVER_ERROR_BACKOFF_MS = 30_000
/** Base wait after a 429 that came without a usable Retry-After or x-ratelimit-reset. */
export const RATE_LIMIT_BACKOFF_MS = 60_000
/** Each base wait is spread by ±20%. */
export const BACKOFF_JITTER = 0.2
/** No retry hint is ever longer than this, whatever the provider says. */
export const MAX_BACKOFF_MS = 300_000

/**
 * How the wait before a retry is chosen:
 * - `throttle`: a 429 whose window is trustworthy: the provider's window, else the rate-limit default;
 * - `provider_throttle`: a 429 forwarded from LinkedIn, whose window Unipile says may be unreliable:
 *   the longer of the provider's window and the rate-limit default;
 * - `server_error`: a 5xx: the longer of the provider's window and the server-error default.
 */
export type Backoff = "throttle" | "provider_throttle" | "server_error"

/** The delay before retrying, in ms. `random` is uniform in [0, 1) and drives the jitter. */
export const retryDelayMs = (backoff: Backoff, hintMs: number | undefined, random: number): number => {
  const jittered = (base: number) => Math.round(base * (1 - BACKOFF_JITTER + 2 * BACKOFF_JITTER * random))
  const wait = backoff === "throttle"
    ? hintMs ?? jittered(RATE_LIMIT_BACKOFF_MS)
    : Math.max(jittered(backoff === "provider_throttle" ? RATE_LIMIT_BACKOFF_MS : SERVER_ERROR_BACKOFF_MS), hintMs ?? 0)
  return Math.min(wait, MAX_BACKOFF_MS)
}

/** Retry-After as milliseconds: delay-seconds or an HTTP date (past dates give 0). */
export const retryAfterMs = (header: string | undefined, nowMs: number): number | undefined => {
  const value = header?.trim()
  if (value === undefined || value === "") return undefined
  if (/^\d+$/.test(value)) return Number(value) * 1000
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs)
}

/**
 * The provider's own hint: Retry-After, else Unipile v2's `x-ratelimit-reset` (seconds
 * until the window resets) when the window is used up or its use is not reported.
 */
export const retryHintMs = (headers: Readonly<Record<string, string | undefined>>, nowMs: number): number | undefined => {
  const retryAfter = retryAfterMs(headers["retry-after"], nowMs)
  if (retryAfter !== undefined) return retryAfter
  const reset = headers["x-ratelimit-reset"]?.trim()
  const remaining = headers["x-ratelimit-remaining"]?.trim()
  if (reset === undefined || !/^\d+$/.test(reset)) return undefined
  if (remaining !== undefined && /^\d+$/.test(remaining) && Number(remaining) > 0) return undefined
  return Number(reset) * 1000
}
