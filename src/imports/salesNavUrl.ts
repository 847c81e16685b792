/**
 * Is this a Sales Navigator people search (or lead list) we can import? Exactly what the
 * contract's description of `url` says:
 *
 *   accepted  https on linkedin.com / www.linkedin.com, and either
 *             - a people search /sales/search/people that names a search: a non-empty
 *               `query`, `savedSearchId` or `recentSearchId` parameter, or
 *             - a lead list /sales/lists/people/<id>
 *   rejected  company and account URLs, a single lead's page (/sales/lead/…, /sales/people/…),
 *             the saved-searches index, a people search that names no search, classic
 *             LinkedIn searches, any other host — each with a message that says what it is
 *             and what to pass instead.
 *
 * The URL is never re-encoded: LinkedIn double-encodes selectively, so the caller's string
 * (trimmed) is what we search with.
 */
import { Result } from "effect"

export type SalesNavUrlKind = "people_search" | "lead_list"

export interface SalesNavUrl {
  readonly kind: SalesNavUrlKind
  /** The URL exactly as given (trimmed). */
  readonly url: string
}

const PEOPLE_SEARCH_HINT = "Pass a Sales Navigator people search URL such as https://www.linkedin.com/sales/search/people?query=..."

/** The parameters that name a people search (one of them, non-empty, must be there). */
export const SEARCH_PARAMETERS = ["query", "savedSearchId", "recentSearchId"] as const

const reject = (what: string): Result.Result<SalesNavUrl, string> => Result.fail(`${what} ${PEOPLE_SEARCH_HINT}`)

/** The kind of a Sales Navigator path (segments after /sales/), or why it is not one we import. */
const classifyPath = (segments: ReadonlyArray<string>, params: URLSearchParams): SalesNavUrlKind | string => {
  const [area, kind, id, ...rest] = segments
  if (segments.some((s) => s === "company" || s === "companies" || s === "account" || s === "accounts")) {
    return "url is a Sales Navigator company/account URL; only people searches can be imported."
  }
  if (area === "lead" || area === "people") {
    return "url is a single lead's page, not a search; import the search or lead list it came from."
  }
  if (area === "search" && kind === "saved-searches") {
    return "url is the list of your saved searches; open one and pass its URL (it has savedSearchId=...)."
  }
  if (area === "search" && kind === "people" && id === undefined) {
    return SEARCH_PARAMETERS.some((p) => (params.get(p) ?? "").trim() !== "")
      ? "people_search"
      : "url is a people search that names no search (no query, savedSearchId or recentSearchId parameter); run the search first and pass its URL."
  }
  if (area === "lists" && kind === "people") {
    return id !== undefined && id !== "" && rest.length === 0
      ? "lead_list"
      : "url is the index of your lead lists; open one and pass its URL (/sales/lists/people/<id>)."
  }
  return "url is not a Sales Navigator people search or lead list."
}

export const classifySalesNavUrl = (input: string): Result.Result<SalesNavUrl, string> => {
  const url = input.trim()
  if (!URL.canParse(url)) return reject("url is not a valid URL.")
  const parsed = new URL(url)
  if (parsed.protocol !== "https:") return reject("url must use https.")
  const host = parsed.hostname.toLowerCase()
  if (host !== "linkedin.com" && host !== "www.linkedin.com") return reject(`url must be on linkedin.com, not ${host}.`)
  if (parsed.username !== "" || parsed.password !== "" || parsed.port !== "") {
    return reject("url must not carry credentials or a port.")
  }
  const segments = parsed.pathname.toLowerCase().split("/").filter((s) => s !== "")
  if (segments[0] !== "sales") {
    return reject(
      segments[0] === "search"
        ? "url is a classic LinkedIn search, not Sales Navigator."
        : "url is not a Sales Navigator URL (the path must start with /sales/)."
    )
  }
  const kind = classifyPath(segments.slice(1), parsed.searchParams)
  return kind === "people_search" || kind === "lead_list" ? Result.succeed({ kind, url }) : reject(kind)
}
