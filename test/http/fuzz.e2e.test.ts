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
 * attempts count against it by design, so it is left out of the snapshot. A projection's
 * rebuild accepted (202) is a change by design: the case waits until it has switched, and then
 * everything must be as it was but that projection's version, one higher.
 *
 * FUZZ_RUNS sets the number of cases (default 1,000); `npm run fuzz -- --runs 20000` runs more.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import { sql } from "kysely"
import { Database } from "../../src/db/Database.ts"
import { documentedStatuses, servedEndpoints } from "../support/endpoints.ts"
import { makeUser, PEOPLE_SEARCH } from "../support/fixtures.ts"
import { ascii, buildPool, bodyRequest, type FuzzRequest, fuzzRequest, rawRequest, validExamples } from "../support/fuzz-requests.ts"
import { sendRaw } from "../support/raw-http.ts"
import { ADMIN_TOKEN, call, client, SUPPORT_TOKEN, TestAppOnTriggerStub } from "../support/server.ts"

const RUNS = Number(process.env.FUZZ_RUNS ?? 1_000)
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
      (select count(*) from local_runs) as local_runs,
      (select coalesce(string_agg(name || ':' || version || ':' || coalesce(building::text, '-'), ',' order by name), '')
        from projection_versions) as projections`.execute(q)
  )
  return JSON.stringify(rows[0])
}).pipe(Effect.orDie)

const REBUILD = "POST /api/support/projections/{name}/rebuild"

/** A snapshot's projections: name → "version:building" (building "-" when no rebuild runs). */
const projectionsOf = (state: string): Record<string, string> =>
  Object.fromEntries(String(JSON.parse(state).projections).split(",").filter((p) => p !== "").map((p) => {
    const [name, version, building] = p.split(":")
    return [name, `${version}:${building}`]
  }))
const rebuilding = (state: string) => Object.values(projectionsOf(state)).some((p) => !p.endsWith(":-"))
const apartFromProjections = (state: string) => ({ ...JSON.parse(state), projections: undefined })

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

  it.effect("a time outside years 0001 to 9999 in UTC is 400 naming it (the database refused it: 500)", () =>
    Effect.gen(function*() {
      const api = yield* client
      const user = yield* makeUser({ credits: 50 })
      const { listId } = (yield* call(() => api.request("POST", "/api/lists/import-sales-nav", { token: user.token, json: { url: PEOPLE_SEARCH, maxResults: 5 } }))).body
      const cases: ReadonlyArray<[string, string]> = [
        [`/api/support/lists/${listId}/rows?asOf=0000-01-01`, "asOf"],
        [`/api/support/lists/${listId}/rows?asOf=${encodeURIComponent("9999-12-31T23:00:00-02:00")}`, "asOf"],
        [`/api/support/events?from=${encodeURIComponent("0001-01-01T00:30:00+01:00")}`, "from"],
        ["/api/support/events?to=0000-06-30", "to"]
      ]
      for (const [path, field] of cases) {
        const before = yield* databaseState
        const answer = yield* call(() => api.request("GET", path, { token: SUPPORT_TOKEN }))
        expect(answer.status, path).toBe(400)
        expect(answer.body, path).toMatchObject({ code: "VALIDATION_FAILED", details: [{ path: field }] })
        expect(yield* databaseState).toBe(before)
      }
      // The first and the last instants are answered.
      expect((yield* call(() => api.request("GET", `/api/support/lists/${listId}/rows?asOf=9999-12-31T23:59:59.999Z`, { token: SUPPORT_TOKEN }))).status).toBe(200)
      expect((yield* call(() => api.request("GET", "/api/support/events?from=0001-01-01&limit=1", { token: SUPPORT_TOKEN }))).status).toBe(200)
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
      let rebuilds = 0
      /** The snapshot once no rebuild runs (each takes a moment: the fuzz's log is small). */
      const waitForRebuilds = async () => {
        const deadline = Date.now() + 120_000
        let state = await run(databaseState)
        while (rebuilding(state) && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 20))
          state = await run(databaseState)
        }
        return state
      }

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
        if (routed && request.endpoint.key === REBUILD && answer.status === 202) {
          // A rebuild accepted: once it has switched, its projection is one version higher and nothing else changed.
          const { name, version } = JSON.parse(answer.body) as { name: string; version: number }
          const after = await waitForRebuilds()
          expect(apartFromProjections(after), `${where}: the rebuild changed more than its projection`).toEqual(apartFromProjections(before))
          const [was] = (projectionsOf(before)[name] ?? "1:-").split(":")
          expect(version, where).toBe(Number(was) + 1)
          expect(projectionsOf(after), where).toEqual({ ...projectionsOf(before), [name]: `${version}:-` })
          rebuilds++
        } else if (answer.status >= 400 || request.method === "GET") {
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

      // No rebuild is left running, and the property did start some (a valid one is among the examples).
      expect(rebuilding(yield* databaseState), "a rebuild still runs").toBe(false)
      expect(rebuilds).toBeGreaterThan(0)

      const cases = [...tally.values()].reduce((n, statuses) => n + [...statuses.values()].reduce((a, b) => a + b, 0), 0)
      const summary = Object.fromEntries([...tally].map(([key, statuses]) => [key, Object.fromEntries([...statuses].sort())]))
      console.log(`fuzz: ${cases} cases in ${((Date.now() - started) / 1000).toFixed(1)} s, no 5xx, ${rebuilds} rebuilds; statuses per endpoint: ${JSON.stringify(summary)}`)
      expect(cases).toBeGreaterThanOrEqual(RUNS)
      // Every endpoint answered both its success and refusals, so the fuzz reached past the edges.
      for (const endpoint of servedEndpoints) {
        const statuses = [...(tally.get(endpoint.key)?.keys() ?? [])]
        expect(statuses.some((s) => s < 300), `${endpoint.key} never succeeded: ${statuses}`).toBe(true)
        expect(statuses.some((s) => s >= 400), `${endpoint.key} never refused: ${statuses}`).toBe(true)
      }
    }), Math.max(240_000, RUNS * 200))
})
