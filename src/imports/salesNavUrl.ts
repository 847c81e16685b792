/**
 * Is this a Sales Navigator people search (or lead list) we can import?
 *
 * Accepted: https on linkedin.com / www.linkedin.com, a path under /sales/ with a
 * `people` segment (/sales/search/people?query=..., ?savedSearchId=...,
 * /sales/lists/people/<id>). Everything else is rejected with a message that says
 * what the URL is and what to pass instead. The URL is never re-encoded: LinkedIn
 * double-encodes selectively, so the caller's string is what we search with.
 */
import { Result } from "effect"

export type SalesNavUrlKind = "people_search" | "lead_list"

export interface SalesNavUrl {
  readonly kind: SalesNavUrlKind
  /** The URL exactly as given (trimmed). */
  readonly url: string
}

const PEOPLE_SEARCH_HINT = "Pass a Sales Navigator people search URL such as https://www.linkedin.com/sales/search/people?query=..."

export const classifySalesNavUrl = (input: string): Result.Result<SalesNavUrl, string> => {
  const url = input.trim()
  if (!URL.canParse(url)) return Result.fail(`url is not a valid URL. ${PEOPLE_SEARCH_HINT}`)
  const parsed = new URL(url)
  if (parsed.protocol !== "https:") return Result.fail(`url must use https. ${PEOPLE_SEARCH_HINT}`)
  const host = parsed.hostname.toLowerCase()
  if (host !== "linkedin.com" && host !== "www.linkedin.com") {
    return Result.fail(`url must be on linkedin.com, not ${host}. ${PEOPLE_SEARCH_HINT}`)
  }
  if (parsed.username !== "" || parsed.password !== "" || parsed.port !== "") {
    return Result.fail(`url must not carry credentials or a port. ${PEOPLE_SEARCH_HINT}`)
  }
  const segments = parsed.pathname.toLowerCase().split("/").filter((s) => s !== "")
  if (segments[0] !== "sales") {
    return Result.fail(
      segments[0] === "search"
        ? `url is a classic LinkedIn search, not Sales Navigator. ${PEOPLE_SEARCH_HINT}`
        : `url is not a Sales Navigator URL (the path must start with /sales/). ${PEOPLE_SEARCH_HINT}`
    )
  }
  if (segments.some((s) => s === "company" || s === "companies" || s === "account" || s === "accounts")) {
    return Result.fail(`url is a Sales Navigator company/account URL; only people searches can be imported. ${PEOPLE_SEARCH_HINT}`)
  }
  if (!segments.includes("people")) {
    return Result.fail(`url is not a Sales Navigator people search (the path has no /people segment). ${PEOPLE_SEARCH_HINT}`)
  }
  return Result.succeed({ kind: segments[1] === "lists" ? "lead_list" : "people_search", url })
}
