/**
 * Unipile's v1 LinkedIn search, one POST per page:
 * `POST {base}/api/v1/linkedin/search?account_id=&limit=25[&cursor=]` with
 * `{ "url": <the Sales Navigator URL, untouched> }`, answered by
 * `{ object: "LinkedinSearch", items, paging: { start, page_count, total_count }, cursor }`.
 *
 * The continuation is Unipile's cursor, sent with the URL. The docs say a `url` in the
 * body overrides the whole body and show cursor-only continuations, so whether
 * url + cursor advances is checked on every page: `paging.start` must be the offset of
 * the page asked for (unipilePaging.ts), and a cursor that visibly points elsewhere is
 * refused before it costs a request.
 */
import { Effect, Option, Schema } from "effect"
import type { Lead } from "../../events/lead.ts"
import { type LeadPage, type LeadSourceError, PAGE_SIZE, type PageRequest } from "./LeadSource.ts"
import { transient } from "./unipileErrors.ts"
import { memberUrnOf, type Fields, isFields, profileLinks, splitName, text } from "./unipileFields.ts"
import { type Exchange, failureOf, isSuccess } from "./unipileHttp.ts"
import { expectedOffset, invalidCursor, notPeople, pageRepeated, pagingMismatch, V2_CURSOR_PREFIX } from "./unipilePaging.ts"

/**
 * One v1 search item as a Lead. Sales Navigator items carry `id` ("ACwAA..."),
 * `member_urn`, `public_identifier`, `public_profile_url`, `profile_url` (the
 * search-scoped Sales Navigator link), names, `headline`, `location` and
 * `current_positions[{ company, role }]`; any of them may be missing.
 */
export const leadFromV1Item = (item: Fields): Lead => {
  const position = Array.isArray(item.current_positions) && isFields(item.current_positions[0])
    ? item.current_positions[0]
    : {}
  const links = profileLinks(text(item.profile_url), text(item.public_profile_url), text(item.public_identifier))
  const name = text(item.name) ?? text(item.full_name)
  const split = splitName(name)
  const firstName = text(item.first_name) ?? split.first
  const lastName = text(item.last_name) ?? split.last
  return {
    salesNavId: text(item.id),
    memberUrn: memberUrnOf(item.member_urn),
    ...links,
    firstName,
    lastName,
    fullName: name ?? `${firstName} ${lastName}`.trim(),
    headline: text(item.headline),
    currentRole: text(position.role) ?? text(position.title),
    currentCompany: text(position.company) ?? text(position.company_name) ?? text(item.current_company_name),
    location: text(item.location)
  }
}

const SearchResponse = Schema.fromJsonString(Schema.Struct({
  items: Schema.Array(Schema.Unknown),
  cursor: Schema.optional(Schema.NullOr(Schema.String)),
  paging: Schema.optional(Schema.NullOr(Schema.Struct({
    start: Schema.optional(Schema.NullOr(Schema.Number)),
    total_count: Schema.optional(Schema.NullOr(Schema.Number))
  })))
}))

/**
 * Unipile's cursors are base64 JSON such as `{ account_id, limit, start, params }`
 * (developer.unipile.com "LinkedIn search" guide), `start` being where the next page
 * begins. When a cursor reads that way with our page size, its start must be the
 * offset of the page asked for; a cursor that reads any other way is left to the
 * answer's `paging.start` check.
 */
const cursorStart = (cursor: string): number | undefined => {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, "base64").toString("utf8"))
    return isFields(decoded) && decoded.limit === PAGE_SIZE && typeof decoded.start === "number" ? decoded.start : undefined
  } catch {
    return undefined
  }
}

/** The request's continuation, refused before sending when it cannot lead to the page asked for. */
const checkContinuation = (request: PageRequest): LeadSourceError | undefined => {
  if (request.page === 1) return undefined
  if (request.cursor === null) return invalidCursor(request.page, "page 1 ended without a cursor, yet a later page was asked for")
  if (request.cursor.startsWith(V2_CURSOR_PREFIX)) return invalidCursor(request.page, "it was made by the Unipile v2 adapter")
  const start = cursorStart(request.cursor)
  const expected = expectedOffset(request.page)
  return start === undefined || start === expected
    ? undefined
    : pagingMismatch(request.page, `the cursor handed back with page ${request.page - 1} points at result ${start}, not ${expected}`)
}

/** `paging.start` against the page asked for (only for non-empty pages: an empty one ends the search anyway). */
const checkStart = (page: number, start: number | null | undefined): LeadSourceError | undefined => {
  const expected = expectedOffset(page)
  if (start === undefined || start === null) {
    return page === 1 ? undefined : pagingMismatch(page, "the answer has no paging.start, so a restarted search could not be told apart")
  }
  if (start === expected) return undefined
  if (start < expected) {
    return pageRepeated(page, start === 0 ? "answered with the first results again" : `answered with results from ${start} again`)
  }
  return pagingMismatch(page, `the answer starts at result ${start}, not ${expected}, so the results in between would be lost`)
}

/** A 2xx body as a page, or why it cannot be one. */
const pageFromBody = (page: number, body: string): Effect.Effect<LeadPage, LeadSourceError> =>
  Option.match(Schema.decodeUnknownOption(SearchResponse)(body), {
    onNone: () => Effect.fail(transient("malformed_response", `Unipile answered 2xx with an unreadable body: ${text(body.slice(0, 200)) ?? ""}`)),
    onSome: (response) => {
      const items = response.items.filter(isFields)
      const other = items.find((item) => item.type !== undefined && item.type !== "PEOPLE")
      if (other !== undefined) {
        return Effect.fail(notPeople(text(other.type)))
      }
      const mismatch = items.length === 0 ? undefined : checkStart(page, response.paging?.start)
      if (mismatch !== undefined) return Effect.fail(mismatch)
      return Effect.succeed({
        leads: items.map(leadFromV1Item),
        // An empty page ends the search even when a cursor comes with it.
        nextCursor: items.length === 0 ? null : response.cursor ?? null,
        totalAvailable: response.paging?.total_count ?? null
      })
    }
  })

/** Page `request.page` of a search through Unipile v1, for Unipile account `accountId`. */
export const fetchPageV1 = (exchange: Exchange) => (request: PageRequest, accountId: string): Effect.Effect<LeadPage, LeadSourceError> => {
  const refused = checkContinuation(request)
  if (refused !== undefined) return Effect.fail(refused)
  return Effect.flatMap(
    exchange({
      path: "/api/v1/linkedin/search",
      query: { account_id: accountId, limit: String(PAGE_SIZE), ...(request.page === 1 || request.cursor === null ? {} : { cursor: request.cursor }) },
      body: { url: request.url }
    }),
    (answer) => (isSuccess(answer) ? pageFromBody(request.page, answer.body) : failureOf(answer))
  )
}
