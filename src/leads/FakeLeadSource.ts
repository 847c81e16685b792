/**
 * A deterministic stand-in for LinkedIn people search, so imports can run, be tested
 * and be benchmarked without a provider account.
 *
 * 100,000 synthetic people exist only as a function of their index (nothing is
 * materialised). A search URL picks an ordered subset: every 12th result comes from a
 * pool shared by all searches, the others from a URL-keyed permutation of everyone
 * else, so two searches overlap by about 10% (8.3% shared + chance collisions, about
 * 2% for two full searches). Pages imitate Sales Navigator, repeats across adjacent
 * pages included, and faults (429, 5xx, restriction) are injected from the seed and
 * the attempt count, so every run is reproducible.
 *
 * Paging: the page that starts at new result `offset` first repeats 0 to 2 results
 * of the previous page (about 1 page in 4 repeats 1 or 2), then continues, 25 results
 * a page. Repeats push later results along instead of dropping them. As on Sales
 * Navigator, a search ends after 100 pages (2,500 results, repeats included), so a
 * full search reaches about 2,460 distinct people and the last few are out of reach.
 * Content follows the cursor (an opaque base64url offset and page number); `page`
 * only drives the injected faults.
 */
import { Config, Effect, Layer, Option, Schema } from "effect"
import type { Lead } from "../../events/lead.ts"
import { type LeadPage, LeadSource, LeadSourceError, MAX_REACHABLE, PAGE_SIZE, type PageRequest } from "./LeadSource.ts"

/** How the fake behaves. */
export interface FakeLeadSourceOptions {
  /** Results a search reports (`totalAvailable`); at most 2,500 are reachable. A URL's `fakeCount=<n>` overrides it. */
  readonly leadsPerSearch: number
  /** Delay of every call, as an interruptible sleep. */
  readonly pageLatencyMs: number
  /** Probability (0..1) that a call fails transiently (429 rate_limited or 5xx upstream_unavailable). */
  readonly transientErrorRate: number
  /** When k, every request for a page > k fails permanently with account_restricted; null = never. */
  readonly restrictedAfterPages: number | null
  /** Keys which people searches pick and which calls fail. */
  readonly seed: string
}

/** The defaults, also used for each option the environment does not set. */
export const defaultFakeOptions: FakeLeadSourceOptions = {
  leadsPerSearch: MAX_REACHABLE,
  pageLatencyMs: 0,
  transientErrorRate: 0,
  restrictedAfterPages: null,
  seed: "sales-nav-fake"
}

/** How many synthetic people exist. */
export const POPULATION_SIZE = 100_000
/** Every SHARE_EVERY-th result of a search comes from the pool all searches share. */
const SHARE_EVERY = 12
const SHARED_POOL_SIZE = Math.floor(MAX_REACHABLE / SHARE_EVERY)
/** One person in NO_IDS_ONE_IN has no stable ids (2%). */
const NO_IDS_ONE_IN = 50

// ---------------------------------------------------------------------------------
// Hashing and permutations: the whole population and every search are functions of these.

/** murmur3's 32-bit finaliser: a bijection on uint32 with good avalanche. */
const fmix32 = (input: number): number => {
  let h = input >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

const hashText = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return fmix32(h)
}

const HASH_SEED = 0x2545f491
/** One more part folded into a hash. */
const mix = (h: number, part: number): number => fmix32((Math.imul(h ^ part, 0x01000193) + 0x9e3779b9) | 0)

/** A uint32 hash of the parts (numbers must be uint32). */
const hash = (...parts: ReadonlyArray<string | number>): number =>
  parts.reduce<number>((h, part) => mix(h, typeof part === "number" ? part : hashText(part)), HASH_SEED)

/** `hash(a, b)` and `hash(a, b, c)` of numbers, without the array: the fake draws a few of them per lead. */
const hash2 = (a: number, b: number): number => mix(mix(HASH_SEED, a), b)
const hash3 = (a: number, b: number, c: number): number => mix(mix(mix(HASH_SEED, a), b), c)

/** A keyed pseudo-random permutation of [0, size): a 4-round Feistel network with cycle walking. */
const permute = (key: number, size: number, x: number): number => {
  const halfBits = Math.max(1, Math.ceil(Math.log2(size) / 2))
  const mask = (1 << halfBits) - 1
  const round = (value: number): number => {
    let left = value >>> halfBits
    let right = value & mask
    for (let r = 0; r < 4; r++) {
      const next = left ^ (hash3(key, r, right) & mask)
      left = right
      right = next
    }
    return (left << halfBits) | right
  }
  let y = round(x)
  while (y >= size) y = round(y)
  return y
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
const base62 = (value: number, width: number): string => {
  let text = ""
  for (let i = width - 1; i >= 0; i--) text += BASE62[Math.floor(value / 62 ** i) % 62]
  return text
}

const pick = <A>(items: ReadonlyArray<A>, h: number): A => items[h % items.length] as A
const slug = (name: string) => name.toLowerCase().replace(/[^a-z0-9]+/g, "-")

// ---------------------------------------------------------------------------------
// The population.

const FIRST_NAMES = [
  "Emma", "Liam", "Olivia", "Noah", "Ava", "Lucas", "Sophia", "Mateo", "Mia", "Ethan", "Amelia", "James",
  "Chloe", "Leo", "Isabella", "Hugo", "Zoe", "Arjun", "Priya", "Wei", "Mei", "Kenji", "Yuki", "Omar",
  "Fatima", "Carlos", "Lucia", "Pierre", "Camille", "Lars", "Ingrid", "Sven", "Anna", "Tomas", "Elena",
  "David", "Sarah", "Michael", "Laura", "Daniel"
]
const LAST_NAMES = [
  "Smith", "Johnson", "Williams", "Brown", "Garcia", "Miller", "Davis", "Martinez", "Lopez", "Wilson",
  "Anderson", "Thomas", "Moore", "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis",
  "Walker", "Young", "Allen", "King", "Wright", "Scott", "Nguyen", "Hill", "Green", "Baker", "Patel",
  "Kim", "Chen", "Muller", "Schmidt", "Dubois", "Rossi", "Jensen", "Novak", "Silva"
]
const COMPANIES = [
  "Acme Analytics", "Northwind Traders", "Globex", "Initech", "Umbrella Health", "Stark Logistics",
  "Wayne Capital", "Hooli", "Pied Piper", "Vandelay Industries", "Cyberdyne Systems", "Soylent Foods",
  "Tyrell Robotics", "Wonka Confectionery", "Aperture Labs", "Massive Dynamic", "Blue Sun Energy",
  "Oscorp", "Gringotts Finance", "Monarch Media", "Bluth Homes", "Dunder Paper", "Prestige Worldwide",
  "Sterling Cooper", "Contoso", "Fabrikam", "Tailspin Toys", "Litware", "Adatum", "Woodgrove Bank"
]
const ROLES = [
  "Head of Sales", "VP Marketing", "Account Executive", "Sales Development Representative", "CTO",
  "Chief Executive Officer", "Founder", "Product Manager", "Head of Growth", "Customer Success Manager",
  "Revenue Operations Lead", "Engineering Manager", "Director of Partnerships", "Marketing Manager",
  "Chief Revenue Officer", "Business Development Manager", "Head of People", "Data Scientist",
  "Solutions Engineer", "Operations Director"
]
const LOCATIONS = [
  "San Francisco Bay Area", "New York, New York, United States", "London, England, United Kingdom",
  "Paris, Ile-de-France, France", "Berlin, Germany", "Amsterdam, North Holland, Netherlands",
  "Toronto, Ontario, Canada", "Austin, Texas, United States", "Sydney, New South Wales, Australia",
  "Singapore", "Madrid, Community of Madrid, Spain", "Stockholm, Sweden", "Dublin, Ireland",
  "Boston, Massachusetts, United States", "Chicago, Illinois, United States", "Munich, Bavaria, Germany",
  "Bengaluru, Karnataka, India", "Tokyo, Japan", "Sao Paulo, Brazil", "Zurich, Switzerland"
]

const PERSON_KEY = hashText("person")
/** One salt per drawn attribute, so the attributes of a person are independent. */
const ATTRIBUTE = { first: 1, last: 2, role: 3, ids: 4, company: 5, sn1: 6, sn2: 7, urn: 8, location: 9 } as const

/**
 * Person `index` (0 <= index < POPULATION_SIZE), the same in every search except for
 * `salesNavUrl` (null here). Ids are unique: they are built from a bijection of the
 * index. People without ids work at a company whose name ends in their index, so
 * their name + company is unique in the population.
 */
export const fakePerson = (index: number): Lead => {
  const base = hash2(PERSON_KEY, index)
  const h = (attribute: keyof typeof ATTRIBUTE) => hash2(base, ATTRIBUTE[attribute])
  const firstName = pick(FIRST_NAMES, h("first"))
  const lastName = pick(LAST_NAMES, h("last"))
  const role = pick(ROLES, h("role"))
  const hasIds = h("ids") % NO_IDS_ONE_IN !== 0
  const company = hasIds ? pick(COMPANIES, h("company")) : `${pick(COMPANIES, h("company"))} ${index}`
  const code = fmix32(index ^ 0x5bd1e995)
  const publicIdentifier = `${slug(firstName)}-${slug(lastName)}-${code.toString(16).padStart(8, "0")}`
  return {
    salesNavId: hasIds ? `ACwAA${base62(code, 6)}${base62(h("sn1"), 6)}${base62(h("sn2"), 6)}` : null,
    memberUrn: hasIds ? `urn:li:member:${1_000_000 + index * 97 + (h("urn") % 97)}` : null,
    publicIdentifier: hasIds ? publicIdentifier : null,
    linkedinUrl: hasIds ? `https://www.linkedin.com/in/${publicIdentifier}` : null,
    salesNavUrl: null,
    firstName,
    lastName,
    fullName: `${firstName} ${lastName}`,
    headline: `${role} at ${company}`,
    currentRole: role,
    currentCompany: company,
    location: pick(LOCATIONS, h("location"))
  }
}

// ---------------------------------------------------------------------------------
// Searches and pages.

interface Search {
  /** Keys the search's own choice of people, its page repeats and its salesNavUrl token. */
  readonly key: number
  /** Keys the shared pool, the same for every search under one seed. */
  readonly populationKey: number
  readonly total: number
  readonly reachable: number
  readonly token: string
}

/**
 * A knob in the URL's query, read from the raw text — per search, so a test can shape one
 * import whatever the process's FAKE_* settings (a Trigger.dev worker serves many imports):
 * - `fakeCount=<n>`: the results the search has (its totalAvailable);
 * - `fakeStopAfter=<n>`: the provider stops returning results after n, while still
 *   reporting fakeCount (a search truncated upstream);
 * - `fakeRestrictedAfter=<k>`: every page after k fails with account_restricted;
 * - `fakeLatencyMs=<n>`: every call of this search takes n ms.
 */
export const fakeKnob = (url: string, name: "fakeCount" | "fakeStopAfter" | "fakeRestrictedAfter" | "fakeLatencyMs"): number | null => {
  const match = new RegExp(`[?&]${name}=(\\d+)`).exec(url)
  return match?.[1] === undefined ? null : Number(match[1])
}

/** The URL text as given is the key: `fakeSeed=<s>` needs no parsing, it changes the text. */
const searchOf = (url: string, options: FakeLeadSourceOptions): Search => {
  const total = fakeKnob(url, "fakeCount") ?? options.leadsPerSearch
  const key = hash(options.seed, "search", url)
  return {
    key,
    populationKey: hash(options.seed, "population"),
    total,
    reachable: Math.min(total, MAX_REACHABLE, fakeKnob(url, "fakeStopAfter") ?? Infinity),
    token: base62(hash(key, "token"), 4)
  }
}

/** Population index of the person at `position` of the search. */
const personIndexAt = (search: Search, position: number): number => {
  const shared = position % SHARE_EVERY === SHARE_EVERY - 1
  const slot = shared
    ? Math.floor(position / SHARE_EVERY)
    : SHARED_POOL_SIZE +
      permute(search.key, POPULATION_SIZE - SHARED_POOL_SIZE, position - Math.floor((position + 1) / SHARE_EVERY))
  return permute(search.populationKey, POPULATION_SIZE, slot)
}

const leadAt = (search: Search, position: number): Lead => {
  const person = fakePerson(personIndexAt(search, position))
  return {
    ...person,
    salesNavUrl: person.salesNavId === null
      ? null
      : `https://www.linkedin.com/sales/lead/${person.salesNavId},NAME_SEARCH,${search.token}`
  }
}

/** How many results of the previous page the page starting at new result `offset` repeats. */
const repeatsAt = (search: Search, offset: number): number => {
  const h = hash(search.key, "overlap", offset)
  return offset === 0 || h % 4 !== 0 ? 0 : 1 + ((h >>> 8) & 1)
}

/** Sales Navigator serves at most this many pages of a search. */
const MAX_PAGES = MAX_REACHABLE / PAGE_SIZE

interface Position {
  /** The first new result of the page (repeats of the previous page come before it). */
  readonly offset: number
  /** 1-based page number. */
  readonly page: number
}

const pageOf = (search: Search, { offset, page }: Position): LeadPage => {
  const start = offset - repeatsAt(search, offset)
  const end = Math.min(start + PAGE_SIZE, search.reachable)
  return {
    leads: Array.from({ length: Math.max(0, end - start) }, (_, i) => leadAt(search, start + i)),
    nextCursor: end < search.reachable && page < MAX_PAGES ? encodeCursor({ offset: end, page: page + 1 }) : null,
    totalAvailable: search.total
  }
}

const encodeCursor = ({ offset, page }: Position) => Buffer.from(`o:${offset}:p:${page}`).toString("base64url")

const decodeCursor = (cursor: string | null, search: Search): Effect.Effect<Position, LeadSourceError> => {
  if (cursor === null) return Effect.succeed({ offset: 0, page: 1 })
  const match = /^o:(\d+):p:(\d+)$/.exec(Buffer.from(cursor, "base64url").toString())
  const offset = Number(match?.[1])
  const page = Number(match?.[2])
  return offset > 0 && offset < search.reachable && page > 1 && page <= MAX_PAGES
    ? Effect.succeed({ offset, page })
    : Effect.fail(new LeadSourceError({ kind: "permanent", code: "invalid_cursor", message: `Unknown cursor ${cursor}` }))
}

/**
 * Every person the search yields across its (at most 100) pages, in order, without
 * the page repeats: what a complete import of `url` should contain.
 */
export const fakeSearchPeople = (url: string, options: Partial<FakeLeadSourceOptions> = {}): ReadonlyArray<Lead> => {
  const search = searchOf(url, { ...defaultFakeOptions, ...options })
  let end = 0
  for (let position: Position | null = { offset: 0, page: 1 }; position !== null;) {
    end = Math.min(position.offset - repeatsAt(search, position.offset) + PAGE_SIZE, search.reachable)
    position = end < search.reachable && position.page < MAX_PAGES ? { offset: end, page: position.page + 1 } : null
  }
  return Array.from({ length: end }, (_, position) => leadAt(search, position))
}

// ---------------------------------------------------------------------------------
// Faults.

/** The injected failure of a call, if any: restriction first, then a seeded coin per attempt. */
const faultOf = (options: FakeLeadSourceOptions, request: PageRequest, attempt: number): LeadSourceError | null => {
  const restrictedAfter = fakeKnob(request.url, "fakeRestrictedAfter") ?? options.restrictedAfterPages
  if (restrictedAfter !== null && request.page > restrictedAfter) {
    return new LeadSourceError({
      kind: "permanent",
      code: "account_restricted",
      message: `LinkedIn restricted the account after ${restrictedAfter} pages (fake)`
    })
  }
  const h = hash(options.seed, "fault", request.url, request.page, attempt)
  if (h / 2 ** 32 >= options.transientErrorRate) return null
  return (h & 1) === 0
    ? new LeadSourceError({
      kind: "transient",
      code: "rate_limited",
      message: "429 Too Many Requests (fake)",
      retryAfterMs: 250 * (1 + ((h >>> 1) % 8))
    })
    : new LeadSourceError({ kind: "transient", code: "upstream_unavailable", message: "503 Service Unavailable (fake)" })
}

/**
 * A fake source with its own attempt counters (per URL and page), so a retried call
 * meets a fresh, deterministic coin and eventually succeeds with the same content.
 */
export const makeFakeLeadSource = (overrides: Partial<FakeLeadSourceOptions> = {}): LeadSource["Service"] => {
  const options = { ...defaultFakeOptions, ...overrides }
  const attempts = new Map<string, number>()
  const nextAttempt = (request: PageRequest) =>
    Effect.sync(() => {
      const key = `${request.page}\u0000${request.url}`
      const attempt = (attempts.get(key) ?? 0) + 1
      attempts.set(key, attempt)
      return attempt
    })

  const fetchPage = Effect.fn("FakeLeadSource.fetchPage")(function*(request: PageRequest) {
    const latencyMs = fakeKnob(request.url, "fakeLatencyMs") ?? options.pageLatencyMs
    if (latencyMs > 0) yield* Effect.sleep(latencyMs)
    // Attempts are only counted when faults are on, so a fault-free fake keeps no state.
    const attempt = options.transientErrorRate > 0 ? yield* nextAttempt(request) : 1
    const fault = faultOf(options, request, attempt)
    if (fault !== null) return yield* Effect.fail(fault)
    const search = searchOf(request.url, options)
    return pageOf(search, yield* decodeCursor(request.cursor, search))
  })

  return LeadSource.of({ name: "fake", fetchPage })
}

const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/** FAKE_PAGE_LATENCY_MS when unset: a visible pace for `npm start`, like a real provider's. */
export const SERVICE_PAGE_LATENCY_MS = 300

/** The options from FAKE_LEADS_PER_SEARCH, FAKE_PAGE_LATENCY_MS, FAKE_TRANSIENT_ERROR_RATE, FAKE_RESTRICTED_AFTER_PAGES, FAKE_SEED. */
export const fakeOptionsConfig: Config.Config<FakeLeadSourceOptions> = Config.all({
  leadsPerSearch: Config.schema(NonNegativeInt, "FAKE_LEADS_PER_SEARCH").pipe(
    Config.withDefault(defaultFakeOptions.leadsPerSearch)
  ),
  // The service paces the fake visibly by default (rows stream in); tests and benchmarks set 0.
  pageLatencyMs: Config.schema(NonNegativeInt, "FAKE_PAGE_LATENCY_MS").pipe(
    Config.withDefault(SERVICE_PAGE_LATENCY_MS)
  ),
  transientErrorRate: Config.schema(
    Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 })),
    "FAKE_TRANSIENT_ERROR_RATE"
  ).pipe(Config.withDefault(defaultFakeOptions.transientErrorRate)),
  restrictedAfterPages: Config.schema(NonNegativeInt, "FAKE_RESTRICTED_AFTER_PAGES").pipe(
    Config.option,
    Config.map(Option.getOrNull)
  ),
  seed: Config.String("FAKE_SEED").pipe(Config.withDefault(defaultFakeOptions.seed))
})

/** Layers providing `LeadSource` with the fake; each build gets fresh attempt counters. */
export const FakeLeadSource = {
  /** The fake with explicit options. */
  layer: (options: Partial<FakeLeadSourceOptions> = {}): Layer.Layer<LeadSource> =>
    Layer.effect(LeadSource, Effect.sync(() => makeFakeLeadSource(options))),
  /** The fake with options read from the FAKE_* configuration. */
  layerConfig: Layer.effect(LeadSource, Effect.map(fakeOptionsConfig, makeFakeLeadSource))
} as const
