/**
 * The requests the fuzz (test/http/fuzz.e2e.test.ts) sends, as fast-check generators: any
 * endpoint of the API with any part hostile, bodies behind valid credentials, raw HTTP bytes,
 * and one valid request per endpoint. The ids they name come from a pool of real users,
 * imports and tokens made once per run, with the projections' names and positions and times
 * of the log for the support API.
 */
import { Effect, Schedule } from "effect"
import fc from "fast-check"
import { fillPath, type ServedEndpoint, servedEndpoints } from "./endpoints.ts"
import { makeUser, PEOPLE_SEARCH } from "./fixtures.ts"
import {
  deeplyNested,
  encodeComponent,
  hostileJson,
  hostileNumber,
  hostileNumberToken,
  hostileQuery,
  hostileQueryValue,
  hostileSegment,
  hostileString,
  invalidUtf8,
  prototypeKey,
  withInvalidUtf8
} from "./hostile.ts"
import { ADMIN_TOKEN, call, client, SUPPORT_TOKEN } from "./server.ts"

// --- who and what the requests can name ------------------------------------------------------------

export interface Pool {
  /** Tokens of a user with credits, one with none, one without a Sales Navigator account, and a revoked one. */
  readonly tokens: { readonly rich: string; readonly broke: string; readonly noAccount: string; readonly revoked: string }
  /** Real ids by path parameter name: some the caller's, some another user's; `name`: the projections. */
  readonly ids: Record<string, ReadonlyArray<string>>
  /** Real values by query parameter name: ids, event types, streams, positions of the log, times. */
  readonly query: Record<string, ReadonlyArray<string>>
  /** A queued import only the read endpoints name, so no cancel ends it: its live event stream stays reachable. */
  readonly liveRun: string
}

export const buildPool = Effect.gen(function*() {
  const api = yield* client
  const rich = yield* makeUser({ credits: 1_000_000 })
  const broke = yield* makeUser({ credits: 0 })
  const noAccount = yield* makeUser({ credits: 100, salesNavigator: false })
  const post = (token: string, path: string, json?: unknown) => call(() => api.request("POST", path, { token, json }))
  // On the Trigger.dev stub nothing runs an import: one stays queued, one is canceled.
  const queued = (yield* post(rich.token, "/api/lists/import-sales-nav", { url: PEOPLE_SEARCH, maxResults: 10 })).body
  const canceled = (yield* post(rich.token, "/api/lists/import-sales-nav", { url: PEOPLE_SEARCH, maxResults: 10 })).body
  const live = (yield* post(rich.token, "/api/lists/import-sales-nav", { url: PEOPLE_SEARCH, maxResults: 10 })).body
  yield* post(rich.token, `/api/imports/${canceled.runId}/cancel`)
  const revoked = (yield* post(ADMIN_TOKEN, `/api/admin/users/${rich.userId}/tokens`)).body
  yield* call(() => api.request("DELETE", `/api/admin/tokens/${revoked.tokenId}`, { token: ADMIN_TOKEN }))
  const spares = [] as Array<string>
  for (let i = 0; i < 3; i++) spares.push((yield* post(ADMIN_TOKEN, `/api/admin/users/${broke.userId}/tokens`)).body.tokenId)
  const support = (path: string) => call(() => api.request("GET", path, { token: SUPPORT_TOKEN })).pipe(Effect.map((r) => r.body))
  const projections = ((yield* support("/api/support/projections")).projections as Array<{ name: string }>).map((p) => p.name)
  // The log is read below the oldest transaction still running on the server, which on PostgreSQL
  // may be another test file's (transaction ids are server-wide): wait until this run's events show.
  const events = yield* support("/api/support/events?limit=1000").pipe(
    Effect.map((body) => body.events as Array<{ position: string; streamId: string; type: string; recordedAt: string }>),
    Effect.repeat({ until: (events) => events.length > 0, schedule: Schedule.spaced("100 millis"), times: 300 })
  )
  if (events.length === 0) return yield* Effect.die(new Error("the support event log showed none of this run's events in 30 s"))
  const positions = [events[0]!.position, events[Math.floor(events.length / 2)]!.position, events.at(-1)!.position]
  const times = [events[0]!.recordedAt, events.at(-1)!.recordedAt, "2000-01-01", "2100-01-01T00:00:00Z", ...EDGE_TIMES]
  const pool: Pool = {
    tokens: { rich: rich.token, broke: broke.token, noAccount: noAccount.token, revoked: revoked.token },
    ids: {
      listId: [queued.listId, canceled.listId],
      runId: [queued.runId, canceled.runId],
      userId: [rich.userId, broke.userId, noAccount.userId],
      tokenId: [...spares, revoked.tokenId],
      name: projections
    },
    query: {
      runId: [queued.runId, canceled.runId, live.runId],
      userId: [rich.userId, broke.userId],
      listId: [queued.listId, canceled.listId],
      streamId: [...new Set(events.map((e) => e.streamId))].slice(0, 4),
      type: [...new Set(events.map((e) => e.type))].concat("ImportRequested,CreditsReserved"),
      from: times,
      to: times,
      after: positions,
      asOf: [...positions, ...times],
      limit: ["1", "2", "100", "500", "1000"],
      offset: ["0", "1", "3"],
      status: ["queued", "canceled", "running"]
    },
    liveRun: live.runId
  }
  return pool
})

/** ISO 8601 times at the ends of what four digits of a year can write, some of them past them in UTC. */
const EDGE_TIMES = ["0000-01-01", "0001-01-01T00:00:00Z", "0001-01-01T00:30:00+01:00", "9999-12-31T23:59:59.999Z", "9999-12-31T23:00:00-02:00"]

// --- one request ------------------------------------------------------------------------------------

export interface FuzzRequest {
  readonly endpoint: ServedEndpoint
  readonly method: string
  readonly path: string
  readonly query: string
  readonly headers: Record<string, string>
  readonly body: Uint8Array | undefined
}

/** `request`, printed the way a counterexample is worth reading (its body as text, cut short). */
const printable = (request: FuzzRequest): FuzzRequest =>
  Object.assign(request, {
    [fc.toStringMethod]: () => {
      const body = request.body === undefined ? "" : ` ${JSON.stringify(Buffer.from(request.body).toString("utf8").slice(0, 500))}`
      return `${request.method} ${request.path.slice(0, 300)}${request.query === "" ? "" : `?${request.query.slice(0, 300)}`} ${JSON.stringify(request.headers).slice(0, 300)}${body}`
    }
  })

/** Header text as fetch sends it: printable Latin-1 (control characters and DEL are refused by the client; the raw property sends those). */
const latin1 = (maxLength: number) =>
  fc.string({ unit: fc.oneof(fc.integer({ min: 0x20, max: 0x7E }), fc.integer({ min: 0x80, max: 0xFF })).map((c) => String.fromCharCode(c)), maxLength })

/** Whose endpoint it is: the admin's (ADMIN_TOKEN), support staff's (SUPPORT_TOKEN) or a user's. */
const audience = (endpoint: ServedEndpoint): "admin" | "support" | "user" =>
  endpoint.path.startsWith("/api/admin/") ? "admin" : endpoint.path.startsWith("/api/support/") ? "support" : "user"

/** The tokens of each audience (a user with credits twice as often as the others). */
const tokensOf = (pool: Pool) => ({
  admin: fc.constant(ADMIN_TOKEN),
  support: fc.constant(SUPPORT_TOKEN),
  user: fc.constantFrom(pool.tokens.rich, pool.tokens.rich, pool.tokens.broke, pool.tokens.noAccount)
})

/** Mostly the credential the endpoint is for (the admin token on admin paths, the support token on support paths, a user's elsewhere), else anything. */
const authorization = (pool: Pool, endpoint: ServedEndpoint): fc.Arbitrary<string | undefined> => {
  const tokens = tokensOf(pool)
  const right = tokens[audience(endpoint)].map((t) => `Bearer ${t}`)
  const wrong = fc.oneof(...(["admin", "support", "user"] as const).filter((a) => a !== audience(endpoint)).map((a) => tokens[a]))
    .map((t) => `Bearer ${t}`)
  return fc.oneof(
    { weight: 7, arbitrary: right },
    { weight: 1, arbitrary: wrong },
    {
      weight: 3,
      arbitrary: fc.oneof(
        fc.constantFrom(undefined, "", "Bearer", "Bearer ", `bearer ${pool.tokens.rich}`, `BEARER ${pool.tokens.rich}`, `Bearer  ${pool.tokens.rich}`,
          `Bearer ${pool.tokens.rich} extra`, `Bearer ${pool.tokens.rich}x`, `Bearer ${pool.tokens.revoked}`, `Basic ${btoa("user:pass")}`,
          `Token ${pool.tokens.rich}`, `Bearer ${ADMIN_TOKEN.slice(0, -1)}`, `Bearer ${SUPPORT_TOKEN}x`, `Bearer ${"a".repeat(8_000)}`, "Bearer sni_",
          "Bearer null"),
        latin1(60).map((t) => `Bearer ${t}`),
        latin1(60)
      )
    }
  )
}

const contentType = fc.oneof(
  { weight: 12, arbitrary: fc.constant("application/json") },
  {
    weight: 3,
    arbitrary: fc.constantFrom(undefined, "", "application/json; charset=utf-8", "application/json; charset=latin1", "APPLICATION/JSON",
      "application/json;;;", "application/json, text/plain", "text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=xyz", "application/octet-stream", "application/vnd.api+json", "*/*", ";", "json")
  },
  { weight: 1, arbitrary: latin1(30) }
)

/** The value of one path parameter: a real id (the caller's or another user's), a well-formed stranger, or anything. */
const segment = (pool: Pool, param: string, reads: boolean): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...(pool.ids[param] ?? ["x"]), ...(reads && param === "runId" ? [pool.liveRun] : [])) },
    { weight: 1, arbitrary: fc.uuid() },
    { weight: 1, arbitrary: fc.stringMatching(/^run_[A-Za-z0-9]{24}$/) },
    { weight: 3, arbitrary: hostileSegment }
  )

/** A query parameter's value: a real one (an id, a type, a position, a time) or anything. */
const queryValue = (pool: Pool) => (key: string): fc.Arbitrary<string> => {
  // Own keys only: the query's keys include "constructor" and the like.
  const real = Object.hasOwn(pool.query, key) ? pool.query[key] : undefined
  return real === undefined ? hostileQueryValue : fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(...real).map(encodeComponent) },
    { weight: 3, arbitrary: hostileQueryValue }
  )
}

/** A query of real values only (the required keys always there), so the success paths of queries are reached. */
const realQuery = (pool: Pool, endpoint: ServedEndpoint): fc.Arbitrary<string> =>
  fc.record(
    Object.fromEntries(endpoint.query.filter((k) => Object.hasOwn(pool.query, k)).map((k) => [k, fc.constantFrom(...pool.query[k]!)])),
    { requiredKeys: endpoint.requiredQuery.filter((k) => Object.hasOwn(pool.query, k)) }
  ).map((values) => Object.entries(values).map(([k, v]) => `${k}=${encodeComponent(v as string)}`).join("&"))

/** Valid-looking values for the fields the API's bodies have, by name; anything else gets hostile values only. */
const validField = (pool: Pool): Record<string, fc.Arbitrary<unknown>> => ({
  url: fc.oneof({ weight: 3, arbitrary: fc.constant(PEOPLE_SEARCH) }, { weight: 3, arbitrary: fc.constantFrom(
    "https://linkedin.com/sales/lists/people/42",
    "https://www.linkedin.com/sales/search/people?savedSearchId=1",
    "https://www.linkedin.com/sales/search/company?query=x",
    "https://www.linkedin.com/sales/people/ACwAA,NAME_SEARCH,x",
    "http://www.linkedin.com/sales/search/people?query=x",
    "https://evil.example/sales/search/people?query=x"
  ) }),
  listId: fc.oneof(fc.constantFrom(...pool.ids.listId!), fc.uuid()),
  listName: fc.string({ minLength: 1, maxLength: 30 }),
  maxResults: fc.oneof(fc.integer({ min: 1, max: 200 }), fc.constant(Number.MAX_SAFE_INTEGER)),
  skipExistingCustomers: fc.boolean(),
  email: fc.emailAddress(),
  credits: fc.oneof(fc.integer({ min: 0, max: 1_000 }), fc.constant(Number.MAX_SAFE_INTEGER)),
  salesNavigator: fc.boolean(),
  amount: fc.oneof(fc.integer({ min: -1_000, max: 1_000 }), fc.constantFrom(Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER)),
  name: fc.string({ minLength: 1, maxLength: 30 }),
  hasSalesNavigator: fc.boolean(),
  providerAccountId: fc.string({ maxLength: 30 })
})

const hostileValue = fc.oneof(hostileString(60), hostileNumber, hostileJson, fc.constantFrom(null, true, [], {}))

/** `arbitrary` one time in `oneIn + 1`, else null. */
const sometimes = <A>(arbitrary: fc.Arbitrary<A>, oneIn: number) =>
  fc.oneof({ weight: oneIn, arbitrary: fc.constant(null) }, { weight: 1, arbitrary })

const REQUIRED = new Set(["url", "amount", "email", "name", "hasSalesNavigator"])

/** Field names of each endpoint's body (from the served document), for near-valid bodies. */
const bodyFields: Record<string, ReadonlyArray<string>> = {
  "POST /api/lists/import-sales-nav": ["url", "listId", "listName", "maxResults", "skipExistingCustomers"],
  "POST /api/admin/users": ["email", "credits", "salesNavigator"],
  "POST /api/admin/users/{userId}/credits": ["amount"],
  "POST /api/admin/users/{userId}/linkedin-accounts": ["name", "hasSalesNavigator", "providerAccountId"]
}

const bytes = (text: string) => new Uint8Array(Buffer.from(text, "utf8"))

/** A body for `endpoint`: near-valid (a field or two hostile), any JSON, or bytes that are not even that. */
const body = (pool: Pool, endpoint: ServedEndpoint): fc.Arbitrary<Uint8Array | undefined> => {
  const valid = validField(pool)
  const fields = bodyFields[endpoint.key] ?? []
  // Valid fields (the required ones always there), then one of them hostile — or none, or an extra key.
  const nearValid = fc.tuple(
    fc.record(Object.fromEntries(fields.map((name) => [name, valid[name] ?? hostileValue])), { requiredKeys: fields.filter((f) => REQUIRED.has(f)) }),
    sometimes(fc.tuple(fc.constantFrom(...(fields.length > 0 ? fields : ["x"])), hostileValue), 2),
    sometimes(fc.tuple(fc.oneof(prototypeKey, hostileString(10)), hostileJson), 5)
  ).map(([record, hostile, extra]) => {
    const text = JSON.stringify(hostile === null ? record : { ...record, [hostile[0]]: hostile[1] })
    if (extra === null) return text
    // Written into the text, so "__proto__" arrives as a key (an object literal would set the prototype instead).
    const inner = text.slice(1, -1)
    return `{${inner}${inner === "" ? "" : ","}${JSON.stringify(extra[0])}:${JSON.stringify(extra[1]) ?? "null"}}`
  })
  return fc.oneof(
    { weight: 10, arbitrary: nearValid.map(bytes) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: hostileJson.map((v) => bytes(JSON.stringify(v) ?? "null")) },
    { weight: 1, arbitrary: deeplyNested.map(bytes) },
    { weight: 1, arbitrary: nearValid.chain(withInvalidUtf8) },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constantFrom(...(fields.length > 0 ? fields : ["x"])), hostileNumberToken).map(([name, token]) =>
        bytes(`{"url":${JSON.stringify(PEOPLE_SEARCH)},"${name}":${token}}`)
      )
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom("", "{", "}", "null", "[]", "\"x\"", "{}", "\uFEFF{}", "{\"url\":1}garbage", "{\"a\":1,\"a\":2}", "{'url':1}", "NaN")
        .map(bytes)
    },
    { weight: 1, arbitrary: fc.constant(new Uint8Array(Buffer.from(JSON.stringify({ url: PEOPLE_SEARCH }), "utf16le"))) },
    { weight: 1, arbitrary: fc.integer({ min: 64 * 1024 - 16, max: 80_000 }).map((n) => bytes(`{"url":"${"a".repeat(n)}"}`)) },
    { weight: 1, arbitrary: invalidUtf8 }
  )
}

/** A header value: valid-looking, checkpoint-like numbers of any size, anything printable. */
const headerValue = fc.oneof(
  fc.stringMatching(/^[\x21-\x7E]{1,40}$/),
  fc.tuple(fc.bigInt({ min: 0n, max: 10n ** 20n - 1n }), fc.bigInt({ min: 0n, max: 10n ** 20n - 1n })).map(([t, p]) => `${t}.${p}`),
  fc.constantFrom("0.0", "1.1", "-1.-1", "1.", ".1", "1.2.3", "a".repeat(300), " "),
  latin1(40)
)

/** The endpoint's own headers (Idempotency-Key, Last-Event-ID) half the time each, and now and then another endpoint's. */
const extraHeaders = (endpoint: ServedEndpoint): fc.Arbitrary<Record<string, string>> =>
  fc.tuple(
    fc.record(Object.fromEntries(endpoint.headers.map((name) => [name, headerValue])), { requiredKeys: [] }) as fc.Arbitrary<Record<string, string>>,
    fc.oneof({ weight: 3, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: fc.dictionary(fc.constantFrom("idempotency-key", "last-event-id"), headerValue, { maxKeys: 2 }) })
  ).map(([own, stray]) => ({ ...stray, ...own }))

export const fuzzRequest = (pool: Pool): fc.Arbitrary<FuzzRequest> =>
  fc.oneof(...servedEndpoints.map((endpoint) => ({
    // Writes are where a mistake costs: they get twice the cases.
    weight: endpoint.method === "GET" ? 1 : 2,
    arbitrary: fc.record({
      method: fc.oneof(
        { weight: 12, arbitrary: fc.constant(endpoint.method) },
        { weight: 1, arbitrary: fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS") }
      ),
      params: fc.record(Object.fromEntries(endpoint.params.map((p) => [p, segment(pool, p, endpoint.method === "GET")]))) as fc.Arbitrary<Record<string, string>>,
      query: fc.oneof(
        { weight: 1, arbitrary: fc.constant("") },
        { weight: 2, arbitrary: hostileQuery(endpoint.query, queryValue(pool)) },
        ...(endpoint.query.length > 0 ? [{ weight: 1, arbitrary: realQuery(pool, endpoint) }] : [])
      ),
      authorization: authorization(pool, endpoint),
      contentType,
      headers: extraHeaders(endpoint),
      body: body(pool, endpoint)
    }).map(({ method, params, query, authorization, contentType, headers, body }): FuzzRequest => printable({
      endpoint,
      method,
      path: fillPath(endpoint.path, params),
      query,
      headers: {
        ...headers,
        ...(authorization !== undefined ? { authorization } : {}),
        ...(contentType !== undefined ? { "content-type": contentType } : {})
      },
      body: method === "GET" || method === "HEAD" ? undefined : body
    }))
  })))

/** Requests that pass every check before the body's: the caller's credential, JSON, real ids; then a body as above. */
export const bodyRequest = (pool: Pool): fc.Arbitrary<FuzzRequest> =>
  fc.oneof(...servedEndpoints.filter((e) => e.takesBody).map((endpoint) => ({
    weight: 1,
    arbitrary: fc.record({
      params: fc.record(Object.fromEntries(endpoint.params.map((p) => [p, fc.constantFrom(...pool.ids[p]!)]))) as fc.Arbitrary<Record<string, string>>,
      token: tokensOf(pool)[audience(endpoint)],
      body: body(pool, endpoint)
    }).map(({ params, token, body }): FuzzRequest => printable({
      endpoint,
      method: endpoint.method,
      path: fillPath(endpoint.path, params),
      query: "",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body
    }))
  })))

/** One valid request per endpoint, run first on every seed, so each endpoint's success path is reached. */
export const validExamples = (pool: Pool): Array<[FuzzRequest]> =>
  servedEndpoints.map((endpoint) => {
    const token = { admin: ADMIN_TOKEN, support: SUPPORT_TOKEN, user: pool.tokens.rich }[audience(endpoint)]
    const params = Object.fromEntries(endpoint.params.map((p) => [p, pool.ids[p]![0]!]))
    const query: Record<string, string> = { "GET /api/support/lists/{listId}/rows": `asOf=${pool.query.asOf![0]}` }
    const json: Record<string, unknown> = {
      "POST /api/lists/import-sales-nav": { url: PEOPLE_SEARCH, maxResults: 5 },
      "POST /api/admin/users": { email: `${crypto.randomUUID()}@example.com` },
      "POST /api/admin/users/{userId}/credits": { amount: 5 },
      "POST /api/admin/users/{userId}/linkedin-accounts": { name: "fuzz", hasSalesNavigator: true }
    }
    return [{
      endpoint,
      method: endpoint.method,
      path: fillPath(endpoint.path, params),
      query: query[endpoint.key] ?? "",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: endpoint.takesBody ? bytes(JSON.stringify(json[endpoint.key] ?? {})) : undefined
    }]
  })

// --- raw HTTP --------------------------------------------------------------------------------------

const CRLF = "\r\n"
export const ascii = (text: string) => Buffer.from(text, "latin1")

/** A request as bytes: hostile bytes anywhere in the request line and the headers, broken framing of the body. */
export const rawRequest = (pool: Pool): fc.Arbitrary<{ readonly bytes: Uint8Array; readonly method: string }> => {
  // An endpoint's path up to its first parameter, then raw bytes.
  const target = fc.tuple(
    fc.constantFrom(...servedEndpoints),
    fc.oneof(invalidUtf8, fc.uint8Array({ maxLength: 8 }), fc.constant(ascii("a b")), fc.constant(ascii(pool.ids.listId![0]!)))
  ).map(([endpoint, raw]) => Buffer.concat([ascii(endpoint.path.split("{")[0]!), Buffer.from(raw)]))
  const headerValue = fc.oneof(fc.uint8Array({ maxLength: 20 }), invalidUtf8, fc.constant(ascii(`Bearer ${pool.tokens.rich}`)))
  const header = fc.oneof(
    fc.tuple(fc.constantFrom("Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID", "X-Any"), headerValue)
      .map(([name, value]) => Buffer.concat([ascii(`${name}: `), Buffer.from(value), ascii(CRLF)])),
    fc.constantFrom(
      `Authorization: Bearer ${pool.tokens.rich}${CRLF}`,
      `Content-Type: application/json${CRLF}`,
      `Content-Length: 2${CRLF}Content-Length: 3${CRLF}`,
      `Content-Length: -1${CRLF}`,
      `Content-Length: abc${CRLF}`,
      `Transfer-Encoding: chunked${CRLF}Content-Length: 2${CRLF}`,
      `Transfer-Encoding: gzip, chunked${CRLF}`,
      `X-Folded: a${CRLF} continued${CRLF}`,
      `Bad Name: x${CRLF}`,
      `: no name${CRLF}`,
      `X-Huge: ${"a".repeat(20_000)}${CRLF}`,
      `Host: a${CRLF}Host: b${CRLF}`
    ).map(ascii)
  )
  const framedBody = fc.oneof(
    fc.constant({ head: "", body: Buffer.alloc(0) }),
    fc.oneof(invalidUtf8, fc.constant(bytes(JSON.stringify({ url: PEOPLE_SEARCH, maxResults: 1 }))))
      .map((b) => ({ head: `Content-Length: ${b.length}${CRLF}`, body: Buffer.from(b) })),
    fc.constantFrom("zz\r\n{}\r\n0\r\n\r\n", "2;ext=\u0000\r\n{}\r\n0\r\n\r\n", "2\r\n{}0\r\n\r\n", `12000\r\n${"a".repeat(0x12000)}\r\n0\r\n\r\n`, "0\r\n\r\n")
      .map((chunked) => ({ head: `Transfer-Encoding: chunked${CRLF}`, body: ascii(chunked) }))
  )
  return fc.tuple(
    fc.constantFrom("GET", "POST", "DELETE", "PUT", "G\u0000T", "POST\u00FF"),
    target,
    fc.constantFrom("HTTP/1.1", "HTTP/1.0", "HTTP/9.9", "HTTP/1.1 extra", "http/1.1"),
    fc.array(header, { maxLength: 4 }),
    framedBody
  ).map(([method, path, version, headers, framed]) => ({
    method,
    bytes: Buffer.concat([
      ascii(`${method} `), path, ascii(` ${version}${CRLF}Host: 127.0.0.1${CRLF}Connection: close${CRLF}${framed.head}`),
      ...headers,
      ascii(CRLF),
      framed.body
    ])
  }))
}
