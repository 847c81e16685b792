/**
 * A point in the log for "rows as of": a position from the events API (digits), or an
 * ISO 8601 time (a date, or a date and time with an optional zone; no zone is UTC). A time
 * is one of years 0001 to 9999 in UTC: the database reads the time as its ISO text, and
 * refuses year 0000 and six-digit years (a zone can carry 0001-01-01 or 9999-12-31 past them).
 */

export type AsOf =
  | { readonly _tag: "Position"; readonly position: number }
  | { readonly _tag: "Time"; readonly time: Date }

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i

/** The point `text` names, or undefined when it is neither a position nor an ISO 8601 time. */
export const parseAsOf = (text: string): AsOf | undefined => {
  const trimmed = text.trim()
  if (/^\d{1,16}$/.test(trimmed)) {
    const position = Number(trimmed)
    return Number.isSafeInteger(position) ? { _tag: "Position", position } : undefined
  }
  if (!ISO_8601.test(trimmed)) return undefined
  // A time without a zone is UTC (Date would take it as local time).
  const zoned = /T|\s/i.test(trimmed) && !/(?:Z|[+-]\d{2}:?\d{2})$/i.test(trimmed) ? `${trimmed.replace(" ", "T")}Z` : trimmed.replace(" ", "T")
  const time = new Date(zoned)
  return Number.isNaN(time.getTime()) || !sameCalendarDate(trimmed, zoned, time) || !(FIRST <= time.getTime() && time.getTime() <= LAST)
    ? undefined
    : { _tag: "Time", time }
}

/** The first and last instants of years 0001 to 9999, UTC. */
const FIRST = Date.parse("0001-01-01T00:00:00.000Z")
const LAST = Date.parse("9999-12-31T23:59:59.999Z")

/** Rejects dates Date would roll over (2024-02-30 becomes March 1st). */
const sameCalendarDate = (text: string, zoned: string, time: Date): boolean => {
  const [year, month, day] = text.slice(0, 10).split("-").map(Number) as [number, number, number]
  if (month < 1 || month > 12 || day < 1 || day > 31) return false
  const offset = /([+-])(\d{2}):?(\d{2})$/.exec(zoned)
  const minutes = offset ? (offset[1] === "-" ? -1 : 1) * (Number(offset[2]) * 60 + Number(offset[3])) : 0
  const local = new Date(time.getTime() + minutes * 60_000)
  return local.getUTCFullYear() === year && local.getUTCMonth() + 1 === month && local.getUTCDate() === day
}

/** How an answer names the point it was computed at. */
export const showAsOf = (asOf: AsOf): string => asOf._tag === "Position" ? String(asOf.position) : asOf.time.toISOString()
