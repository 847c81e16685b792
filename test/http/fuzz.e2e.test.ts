/**
 * Fuzzing every endpoint over the socket. Each case is one request to an endpoint of the API
 * (the list comes from the API definition) with any part of it hostile: path segments (hostile
 * Unicode, bytes that are not UTF-8, dot segments, 20,000 characters), query strings (numbers
 * written every way, repeats, brackets, broken escapes), Authorization headers, content types,
 * the endpoint's own headers, and bodies (near-valid ones with a hostile field, any JSON with
 * prototype keys, deep nesting, overflowing number tokens, invalid UTF-8, over 64 KiB), now and
 * then with another method. A second property speaks HTTP on a bare socket: control bytes in
 * the request line and headers, duplicate Content-Length, broken chunked bodies.
 *
 * Every answer must be the documented one (a status the contract lists for the endpoint) or a
 * 4xx with the contract's JSON Error body — never a 5xx, never a non-JSON error — and an
 * error, or any read, must leave the database exactly as it was (snapshot before and after
 * each case). The only row a refused POST may touch is the caller's rate-limit allowance:
 * attempts count against it by design, so it is left out of the snapshot.
 *
 * FUZZ_RUNS sets the number of cases (default 1,200); `npm run fuzz -- --runs 20000` runs more.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import { sql } from "kysely"
import { Database } from "../../src/db/Database.ts"
import { documentedStatuses, fillPath, type ServedEndpoint, servedEndpoints } from "../support/endpoints.ts"
import { makeUser, PEOPLE_SEARCH } from "../support/fixtures.ts"
import {
  deeplyNested,
  hostileJson,
  hostileNumber,
  hostileNumberToken,
  hostileQuery,
  hostileSegment,
  hostileString,
  invalidUtf8,
  prototypeKey,
  withInvalidUtf8
} from "../support/hostile.ts"
import { sendRaw } from "../support/raw-http.ts"
import { ADMIN_TOKEN, call, client, TestAppOnTriggerStub } from "../support/server.ts"

const RUNS = Number(process.env.FUZZ_RUNS ?? 1_200)
/** FUZZ_SEED replays a run (fast-check prints the seed of a failure). */
const SEED = process.env.FUZZ_SEED === undefined ? {} : { seed: Number(process.env.FUZZ_SEED) }
/** Shares of the cases: any part of any request hostile; bodies behind valid credentials; raw HTTP. */
const ANY_SHARE = 0.55
const BODY_SHARE = 0.3
const RAW_SHARE = 0.15

// --- what the database holds, in one row -----------------------------------------------------------

/** Counts and sums that move when anything is written (the rate-limit allowance aside, see above). */
const databaseState = Effect.gen(function*() {
  const db = yield* Database
  const { rows } = yield* db.query((q) =>
    sql<Record<string, unknown>>`select
      (select count(*) from users) as users,
      (select count(*) || '/' || count(revoked_at) from api_tokens) as tokens,
      (select count(*) from linkedin_accounts) as accounts,
      (select count(*) || '/' || coalesce(max(position), 0) from events) as events,
      (select count(*) || '/' || coalesce(sum(version), 0) from streams) as streams,
      (select count(*) || '/' || coalesce(sum(row_count), 0) from lists) as lists,
      (select count(*) from list_rows) as list_rows,
      (select count(*) from lead_keys) as lead_keys,
      (select count(*) from import_seen_keys) as seen_keys,
      (select coalesce(sum(granted), 0) || '/' || coalesce(sum(charged), 0) || '/' || coalesce(sum(reserved), 0) from credit_accounts) as credits,
      (select count(*) || '/' || coalesce(sum(reserved + charged + refunded), 0) from credit_holds) as holds,
      (select count(*) || '/' || count(*) filter (where cancel_requested) || '/' || count(*) filter (where status = 'canceled') from imports) as imports,
      (select count(*) || '/' || count(dispatched_at) || '/' || coalesce(sum(attempts), 0) from outbox) as outbox,
      (select count(*) from idempotency_keys) as idempotency_keys,
      (select count(*) from local_runs) as local_runs`.execute(q)
  )
  return JSON.stringify(rows[0])
}).pipe(Effect.orDie)

// --- who and what the requests can name ------------------------------------------------------------

interface Pool {
  /** Tokens of a user with credits, one with none, one without a Sales Navigator account, and a revoked one. */
  readonly tokens: { readonly rich: string; readonly broke: string; readonly noAccount: string; readonly revoked: string }
  /** Real ids by path parameter name: some the caller's, some another user's. */
  readonly ids: Record<string, ReadonlyArray<string>>
  /** A queued import only reads name (no cancel can end it): its live event stream stays reachable. */
  readonly liveRun: string
}

const buildPool = Effect.gen(function*() {
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
  const pool: Pool = {
    tokens: { rich: rich.token, broke: broke.token, noAccount: noAccount.token, revoked: revoked.token },
    ids: {
      listId: [queued.listId, canceled.listId],
      runId: [queued.runId, canceled.runId],
      userId: [rich.userId, broke.userId, noAccount.userId],
      tokenId: [...spares, revoked.tokenId]
    },
    liveRun: live.runId
  }
  return pool
})

// --- one request ------------------------------------------------------------------------------------

interface FuzzRequest {
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

/** Mostly the credential the endpoint is for (the admin token on admin paths, a user's token elsewhere), else anything. */
const authorization = (pool: Pool, endpoint: ServedEndpoint): fc.Arbitrary<string | undefined> => {
  const users = fc.constantFrom(pool.tokens.rich, pool.tokens.rich, pool.tokens.broke, pool.tokens.noAccount).map((t) => `Bearer ${t}`)
  const admin = fc.constant(`Bearer ${ADMIN_TOKEN}`)
  const [right, wrong] = endpoint.path.startsWith("/api/admin/") ? [admin, users] : [users, admin]
  return fc.oneof(
    { weight: 7, arbitrary: right },
    { weight: 1, arbitrary: wrong },
    {
      weight: 3,
      arbitrary: fc.oneof(
        fc.constantFrom(undefined, "", "Bearer", "Bearer ", `bearer ${pool.tokens.rich}`, `BEARER ${pool.tokens.rich}`, `Bearer  ${pool.tokens.rich}`,
          `Bearer ${pool.tokens.rich} extra`, `Bearer ${pool.tokens.rich}x`, `Bearer ${pool.tokens.revoked}`, `Basic ${btoa("user:pass")}`,
          `Token ${pool.tokens.rich}`, `Bearer ${ADMIN_TOKEN.slice(0, -1)}`, `Bearer ${"a".repeat(8_000)}`, "Bearer sni_", "Bearer null"),
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

const fuzzRequest = (pool: Pool): fc.Arbitrary<FuzzRequest> =>
  fc.oneof(...servedEndpoints.map((endpoint) => ({
    // Writes are where a mistake costs: they get twice the cases.
    weight: endpoint.method === "GET" ? 1 : 2,
    arbitrary: fc.record({
      method: fc.oneof(
        { weight: 12, arbitrary: fc.constant(endpoint.method) },
        { weight: 1, arbitrary: fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS") }
      ),
      params: fc.record(Object.fromEntries(endpoint.params.map((p) => [p, segment(pool, p, endpoint.method === "GET")]))) as fc.Arbitrary<Record<string, string>>,
      query: fc.oneof({ weight: 1, arbitrary: fc.constant("") }, { weight: 2, arbitrary: hostileQuery(endpoint.query) }),
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
const bodyRequest = (pool: Pool): fc.Arbitrary<FuzzRequest> =>
  fc.oneof(...servedEndpoints.filter((e) => e.takesBody).map((endpoint) => ({
    weight: 1,
    arbitrary: fc.record({
      params: fc.record(Object.fromEntries(endpoint.params.map((p) => [p, fc.constantFrom(...pool.ids[p]!)]))) as fc.Arbitrary<Record<string, string>>,
      token: endpoint.path.startsWith("/api/admin/") ? fc.constant(ADMIN_TOKEN) : fc.constantFrom(pool.tokens.rich, pool.tokens.rich, pool.tokens.broke, pool.tokens.noAccount),
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
const validExamples = (pool: Pool): Array<[FuzzRequest]> =>
  servedEndpoints.map((endpoint) => {
    const admin = endpoint.path.startsWith("/api/admin/")
    const params = Object.fromEntries(endpoint.params.map((p) => [p, pool.ids[p]![0]!]))
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
      query: "",
      headers: { authorization: `Bearer ${admin ? ADMIN_TOKEN : pool.tokens.rich}`, "content-type": "application/json" },
      body: endpoint.takesBody ? bytes(JSON.stringify(json[endpoint.key] ?? {})) : undefined
    }]
  })

// --- what every answer must be ----------------------------------------------------------------------

interface Answer {
  readonly status: number
  readonly contentType: string
  readonly body: string
}

/** The contract's Error body: exactly these keys, a code in capitals, details as path/message pairs. */
const expectErrorBody = (answer: Answer, where: string) => {
  expect(answer.contentType, where).toMatch(/^application\/json/)
  let parsed: any
  expect(() => (parsed = JSON.parse(answer.body)), `${where}: not JSON: ${answer.body.slice(0, 200)}`).not.toThrow()
  expect(parsed, where).toMatchObject({ success: false, error: expect.any(String), code: expect.stringMatching(/^[A-Z][A-Z0-9_]*$/) })
  expect(Object.keys(parsed).filter((k) => !["success", "error", "code", "details"].includes(k)), where).toEqual([])
  if (parsed.details !== undefined) {
    for (const d of parsed.details) expect(d, where).toEqual({ path: expect.any(String), message: expect.any(String) })
  }
}

/** The first Server-Sent Event of `response` (then the stream is closed), or why there was none. */
const firstEvent = async (response: Response, abort: AbortController): Promise<string> => {
  const reader = response.body!.getReader()
  let text = ""
  try {
    while (!text.includes("\n\n")) {
      const { done, value } = await reader.read()
      if (done) return `<stream ended before its first event: ${JSON.stringify(text)}>`
      text += Buffer.from(value).toString("utf8")
    }
    return text.slice(0, text.indexOf("\n\n") + 2)
  } catch (e) {
    return `<stream broke before its first event: ${String(e)} ${JSON.stringify(text)}>`
  } finally {
    abort.abort()
  }
}

const send = async (baseUrl: string, request: FuzzRequest): Promise<Answer> => {
  const abort = new AbortController()
  const timer = setTimeout(() => abort.abort(), 30_000)
  try {
    const response = await fetch(`${baseUrl}${request.path}${request.query === "" ? "" : `?${request.query}`}`, {
      method: request.method,
      headers: request.headers,
      redirect: "manual",
      signal: abort.signal,
      ...(request.body !== undefined ? { body: Buffer.from(request.body) } : {})
    })
    const contentType = response.headers.get("content-type") ?? ""
    // A live import's event stream does not end: its first event (sent at once) is enough — and must come whole.
    if (contentType.startsWith("text/event-stream")) {
      return { status: response.status, contentType, body: await firstEvent(response, abort) }
    }
    return { status: response.status, contentType, body: await response.text() }
  } finally {
    clearTimeout(timer)
  }
}

const count = (tally: Map<string, Map<number, number>>, key: string, status: number) => {
  const statuses = tally.get(key) ?? new Map<number, number>()
  statuses.set(status, (statuses.get(status) ?? 0) + 1)
  tally.set(key, statuses)
}

// --- raw HTTP --------------------------------------------------------------------------------------

const CRLF = "\r\n"
const ascii = (text: string) => Buffer.from(text, "latin1")

/** A request as bytes: hostile bytes anywhere in the request line and the headers, broken framing of the body. */
const rawRequest = (pool: Pool): fc.Arbitrary<{ readonly bytes: Uint8Array; readonly method: string }> => {
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

// --- the properties ---------------------------------------------------------------------------------

layer(TestAppOnTriggerStub(), { excludeTestServices: true })("fuzzing every endpoint", (it) => {
  // What the fuzz found (each was a 500 or an answer without the JSON body), kept as examples.
  it.effect("a grant past 2^53 - 1 is 400 naming amount, after nothing was written (it was written, then answered 500)", () =>
    Effect.gen(function*() {
      const api = yield* client
      const user = yield* makeUser({ credits: 5 })
      const grant = (amount: number) =>
        call(() => api.request("POST", `/api/admin/users/${user.userId}/credits`, { token: ADMIN_TOKEN, json: { amount } }))
      const before = yield* databaseState
      const refused = yield* grant(Number.MAX_SAFE_INTEGER)
      expect(refused.status).toBe(400)
      expect(refused.body).toMatchObject({ code: "VALIDATION_FAILED", details: [{ path: "amount" }] })
      expect(yield* databaseState).toBe(before)
      expect((yield* grant(Number.MAX_SAFE_INTEGER - 5)).body).toEqual({ balance: Number.MAX_SAFE_INTEGER, available: Number.MAX_SAFE_INTEGER })
      expect((yield* call(() => api.request("GET", "/api/credits", { token: user.token }))).body)
        .toEqual({ balance: Number.MAX_SAFE_INTEGER, reserved: 0, available: Number.MAX_SAFE_INTEGER })
      expect((yield* grant(1)).status).toBe(400)
    }))

  it.effect("a Last-Event-ID past what the log can hold resumes from the start (the live stream broke after its 200)", () =>
    Effect.gen(function*() {
      const api = yield* client
      const user = yield* makeUser({ credits: 50 })
      const live = (yield* call(() => api.request("POST", "/api/lists/import-sales-nav", { token: user.token, json: { url: PEOPLE_SEARCH, maxResults: 5 } }))).body
      for (const lastEventId of ["99999999999999999999.1", "1.99999999999999999999", "18446744073709551616.0"]) {
        const abort = new AbortController()
        const response = yield* call(() =>
          fetch(`${api.baseUrl}/api/imports/${live.runId}/stream`, {
            headers: { authorization: `Bearer ${user.token}`, "last-event-id": lastEventId },
            signal: abort.signal
          })
        )
        expect(response.status).toBe(200)
        const first = yield* call(() => firstEvent(response, abort))
        expect(first, lastEventId).toMatch(/^id: \d+\.\d+\nevent: progress\ndata: \{"runId":/)
      }
    }))

  it.effect("requests Node's parser rejects get the JSON error body too (they got a bare status line)", () =>
    Effect.gen(function*() {
      const api = yield* client
      const port = Number(new URL(api.baseUrl).port)
      const cases: ReadonlyArray<[string, number, string]> = [
        [`GET /api/lists/${"a".repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431, "HEADERS_TOO_LARGE"],
        ["GET /api/credits HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\u0000b\r\n\r\n", 400, "MALFORMED_REQUEST"],
        ["POST /api/lists/import-sales-nav HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400, "MALFORMED_REQUEST"],
        ["GARBAGE\r\n\r\n", 400, "MALFORMED_REQUEST"]
      ]
      for (const [request, status, code] of cases) {
        const answer = yield* call(() => sendRaw(port, ascii(request)))
        expect(answer.status, request.slice(0, 60)).toBe(status)
        expect(answer.headers["content-type"]).toBe("application/json")
        expect(JSON.parse(answer.body)).toEqual({ success: false, code, error: expect.any(String) })
      }
    }))

  it.effect(`${RUNS} hostile requests: documented answers or 4xx JSON errors, never a 5xx, nothing changed by an error`, () =>
    Effect.gen(function*() {
      const api = yield* client
      const pool = yield* buildPool
      const context = yield* Effect.context<Database>()
      const run = <A>(effect: Effect.Effect<A, never, Database>) => Effect.runPromise(Effect.provideContext(effect, context))
      const tally = new Map<string, Map<number, number>>()
      const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort()
      const started = Date.now()
      const port = Number(new URL(api.baseUrl).port)

      const check = async (request: FuzzRequest) => {
        const where = `${request.method} ${request.path.slice(0, 200)}?${request.query.slice(0, 200)}`
        const before = await run(databaseState)
        const answer = await send(api.baseUrl, request)
        const routed = request.method === request.endpoint.method
        count(tally, routed ? request.endpoint.key : "other method", answer.status)
        expect(answer.status, `${where}: ${answer.body.slice(0, 300)}`).toBeLessThan(500)
        if (answer.status >= 400) {
          expectErrorBody(answer, where)
        } else {
          if (answer.contentType.startsWith("text/event-stream")) expect(answer.body, where).toMatch(/^id: .*\nevent: progress\ndata: \{/)
          expect(routed, `${where}: ${answer.status} on another method`).toBe(true)
          expect([...documentedStatuses(request.endpoint.key)], `${where}: undocumented ${answer.status}`).toContain(answer.status)
        }
        if (answer.status >= 400 || request.method === "GET") {
          expect(await run(databaseState), `${where}: the database changed (${answer.status} ${answer.body.slice(0, 200)})`).toBe(before)
        }
      }
      yield* call(() =>
        fc.assert(fc.asyncProperty(fuzzRequest(pool), check), {
          numRuns: Math.ceil(RUNS * ANY_SHARE),
          examples: validExamples(pool),
          ...SEED
        })
      )
      yield* call(() => fc.assert(fc.asyncProperty(bodyRequest(pool), check), { numRuns: Math.ceil(RUNS * BODY_SHARE), ...SEED }))

      yield* call(() =>
        fc.assert(
          fc.asyncProperty(rawRequest(pool), async ({ bytes, method }) => {
            const where = JSON.stringify(Buffer.from(bytes).toString("latin1").slice(0, 300))
            const before = await run(databaseState)
            const answer = await sendRaw(port, bytes)
            count(tally, "raw HTTP", answer.status)
            expect(answer.status, `${where}: ${answer.body.slice(0, 300)}`).toBeLessThan(500)
            if (answer.status >= 400) {
              expectErrorBody({ status: answer.status, contentType: answer.headers["content-type"] ?? "", body: answer.body }, where)
            }
            if (answer.status >= 400 || method !== "POST") expect(await run(databaseState), where).toBe(before)
          }),
          { numRuns: Math.ceil(RUNS * RAW_SHARE), ...SEED }
        )
      )

      // Nothing reached into Object.prototype (a "__proto__" key copied carelessly would have).
      expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore)
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()

      const cases = [...tally.values()].reduce((n, statuses) => n + [...statuses.values()].reduce((a, b) => a + b, 0), 0)
      const summary = Object.fromEntries([...tally].map(([key, statuses]) => [key, Object.fromEntries([...statuses].sort())]))
      console.log(`fuzz: ${cases} cases in ${((Date.now() - started) / 1000).toFixed(1)} s, no 5xx; statuses per endpoint: ${JSON.stringify(summary)}`)
      expect(cases).toBeGreaterThanOrEqual(RUNS)
      // Every endpoint answered both its success and refusals, so the fuzz reached past the edges.
      for (const endpoint of servedEndpoints) {
        const statuses = [...(tally.get(endpoint.key)?.keys() ?? [])]
        expect(statuses.some((s) => s < 300), `${endpoint.key} never succeeded: ${statuses}`).toBe(true)
        expect(statuses.some((s) => s >= 400), `${endpoint.key} never refused: ${statuses}`).toBe(true)
      }
    }), Math.max(240_000, RUNS * 200))
})
