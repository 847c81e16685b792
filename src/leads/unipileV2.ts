/**
 * Unipile's v2 Sales Navigator API, one POST per page, paged by offset:
 * - people searches: `POST {base}/v2/{account_id}/linkedin/sales-navigator/search?offset=&limit=25`
 *   with `{ "url": <the URL, untouched> }` ("Perform Search from URL");
 * - lead lists (`/sales/lists/people/<id>`): `POST {base}/v2/{account_id}/linkedin/sales-navigator/lead-lists/<id>?offset=&limit=25`
 *   with `{}` ("Browse a Lead List", default order: date added, newest first).
 * Both answer `{ data: [...], total_count, next_cursor }` (unipile-python models
 * PeopleSearch1 and LeadList, items PeopleSearchResult and SavedLead).
 *
 * Offsets come from the page number, so the answer cannot say where it starts. The
 * continuation this adapter hands back therefore carries, besides the next offset,
 * fingerprints of the first and the previous page: a page identical to either means
 * the provider restarted the search or repeated a page, and the import stops
 * (unipilePaging.ts).
 */
import { Effect, Option, Schema } from "effect"
import type { Lead } from "../../events/lead.ts"
import { type LeadPage, LeadSourceError, MAX_REACHABLE, PAGE_SIZE, type PageRequest } from "./LeadSource.ts"
import { transient } from "./unipileErrors.ts"
import { type Fields, isFields, memberUrnOf, pageFingerprint, profileLinks, splitName, text } from "./unipileFields.ts"
import { type Exchange, failureOf, isSuccess } from "./unipileHttp.ts"
import { expectedOffset, invalidCursor, notPeople, pageRepeated, pagingMismatch, V2_CURSOR_PREFIX } from "./unipilePaging.ts"

/** The current position of a v2 person: the first work experience without an end date, else the first one. */
const currentPosition = (item: Fields): Fields => {
  const experience = Array.isArray(item.work_experience) ? item.work_experience.filter(isFields) : []
  return experience.find((entry) => text(entry.ended_on) === null) ?? experience[0] ?? {}
}

/**
 * One v2 person (search result or saved lead) as a Lead: `id`, `member_id`,
 * `display_name`, `public_identifier`, `profile_url`, `headline`, `location` and
 * `work_experience[{ company: { name }, job_title, ended_on }]`; any may be missing.
 */
export const leadFromV2Item = (item: Fields): Lead => {
  const position = currentPosition(item)
  const company = isFields(position.company) ? position.company : {}
  const name = text(item.display_name)
  const { first, last } = splitName(name)
  return {
    salesNavId: text(item.id),
    memberUrn: memberUrnOf(item.member_id),
    ...profileLinks(text(item.profile_url), null, text(item.public_identifier)),
    firstName: first,
    lastName: last,
    fullName: name ?? "",
    headline: text(item.headline),
    currentRole: text(position.job_title),
    currentCompany: text(company.name),
    location: text(item.location)
  }
}

/** Item objects that are not people: a company search, or an account list. */
const NOT_PEOPLE = new Set(["CompanySearchResult", "SavedAccount"])

const V2Response = Schema.fromJsonString(Schema.Struct({
  data: Schema.Array(Schema.Unknown),
  total_count: Schema.optional(Schema.NullOr(Schema.Number)),
  next_cursor: Schema.optional(Schema.NullOr(Schema.String))
}))

/** Where the next page starts, and the fingerprints of the first and the latest page. */
interface Continuation {
  readonly offset: number
  readonly first: string | null
  readonly previous: string | null
}

const encodeContinuation = (c: Continuation): string =>
  V2_CURSOR_PREFIX + Buffer.from(JSON.stringify({ o: c.offset, f: c.first, p: c.previous })).toString("base64url")

const decodeContinuation = (cursor: string): Continuation | undefined => {
  if (!cursor.startsWith(V2_CURSOR_PREFIX)) return undefined
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor.slice(V2_CURSOR_PREFIX.length), "base64url").toString("utf8"))
    const fingerprint = (f: unknown) => (typeof f === "string" ? f : null)
    return isFields(value) && typeof value.o === "number"
      ? { offset: value.o, first: fingerprint(value.f), previous: fingerprint(value.p) }
      : undefined
  } catch {
    return undefined
  }
}

/** The id in a lead list URL (`/sales/lists/people/<id>`), null for searches. */
export const leadListIdOf = (url: string): string | null => /\/sales\/lists\/people\/([^/?#]+)/i.exec(url)?.[1] ?? null

/** The continuation of the request, or why it cannot lead to the page asked for. */
const continuationOf = (request: PageRequest): Continuation | LeadSourceError => {
  const offset = expectedOffset(request.page)
  if (request.page === 1 || request.cursor === null) return { offset, first: null, previous: null }
  const continuation = decodeContinuation(request.cursor)
  if (continuation === undefined) return invalidCursor(request.page, "it was not made by the Unipile v2 adapter")
  return continuation.offset === offset
    ? continuation
    : pagingMismatch(request.page, `the continuation handed back with page ${request.page - 1} points at result ${continuation.offset}, not ${offset}`)
}

const pageFromBody = (request: PageRequest, at: Continuation, body: string): Effect.Effect<LeadPage, LeadSourceError> =>
  Option.match(Schema.decodeUnknownOption(V2Response)(body), {
    onNone: () => Effect.fail(transient("malformed_response", `Unipile answered 2xx with an unreadable body: ${text(body.slice(0, 200)) ?? ""}`)),
    onSome: (response) => {
      const items = response.data.filter(isFields)
      const other = items.find((item) => typeof item.object === "string" && NOT_PEOPLE.has(item.object))
      if (other !== undefined) {
        return Effect.fail(notPeople(text(other.object)))
      }
      if (items.length > PAGE_SIZE) {
        return Effect.fail(pagingMismatch(request.page, `${items.length} results came back for a page of ${PAGE_SIZE}`))
      }
      const leads = items.map(leadFromV2Item)
      const fingerprint = pageFingerprint(leads)
      if (fingerprint !== null && request.page > 1) {
        if (fingerprint === at.previous) return Effect.fail(pageRepeated(request.page, `answered with the same people as page ${request.page - 1}`))
        if (fingerprint === at.first) return Effect.fail(pageRepeated(request.page, "answered with the people of page 1 again"))
      }
      const total = response.total_count ?? null
      const next = at.offset + PAGE_SIZE
      const ended = items.length === 0 || (total !== null && at.offset + items.length >= total) || next >= MAX_REACHABLE
      return Effect.succeed({
        leads,
        nextCursor: ended ? null : encodeContinuation({ offset: next, first: request.page === 1 ? fingerprint : at.first, previous: fingerprint }),
        totalAvailable: total
      })
    }
  })

/** Page `request.page` of a search or lead list through Unipile v2, for Unipile account `accountId`. */
export const fetchPageV2 = (exchange: Exchange) => (request: PageRequest, accountId: string): Effect.Effect<LeadPage, LeadSourceError> => {
  const at = continuationOf(request)
  if (at instanceof LeadSourceError) return Effect.fail(at)
  const listId = leadListIdOf(request.url)
  const account = encodeURIComponent(accountId)
  return Effect.flatMap(
    exchange({
      path: listId === null
        ? `/v2/${account}/linkedin/sales-navigator/search`
        : `/v2/${account}/linkedin/sales-navigator/lead-lists/${encodeURIComponent(listId)}`,
      query: { offset: String(at.offset), limit: String(PAGE_SIZE) },
      body: listId === null ? { url: request.url } : {}
    }),
    (answer) => (isSuccess(answer) ? pageFromBody(request, at, answer.body) : failureOf(answer))
  )
}
