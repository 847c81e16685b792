/**
 * Tenant isolation, endpoint by endpoint: a user who sends another user's ids (lists, runs —
 * one running, one ended —, tokens, the user id, an Idempotency-Key with the very body it was
 * used with) gets exactly the answer that ids existing nowhere get — status, content type and
 * body —, so no answer tells that the other user's thing exists; no answer carries anything of
 * the other user; and nothing of the other user changes (every row of theirs, compared before
 * and after). A control call with the caller's own ids proves each probe reaches its handler.
 *
 * The matrix must name every endpoint the API defines: a new endpoint fails here until it has
 * its line. Adding one is one entry: which credential its control uses and the requests to
 * make with a set of ids (path parameters, query, body, headers). Admin and support endpoints
 * serve any user's ids by design, with their own token; a user's token gets 401 there alike.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { fillPath, servedEndpoints } from "../support/endpoints.ts"
import { makeUser } from "../support/fixtures.ts"
import { awaitImport, startImport } from "../support/imports.ts"
import { ADMIN_TOKEN, call, client, type Client, type Reply, SUPPORT_TOKEN, TestApp } from "../support/server.ts"
import { tenantState } from "../support/tenant-state.ts"
import { eventually } from "../support/eventually.ts"

/** Ids of one tenant's things, or of things that exist nowhere. */
interface Ids {
  readonly user: string
  readonly list: string
  /** An import that is running (its first page takes an hour). */
  readonly run: string
  /** An import that has ended (completed). */
  readonly endedRun: string
  readonly token: string
  /** The URL and Idempotency-Key of an import the tenant started with `listId: list`. */
  readonly keyedSearch: string
  readonly idempotencyKey: string
}

interface Request {
  readonly params?: Record<string, string>
  readonly query?: string
  readonly json?: unknown
  readonly headers?: Record<string, string>
}

interface Entry {
  /** The credential of the control call with the caller's own ids; the cross-tenant calls always use a user's token. */
  readonly control: keyof typeof CREDENTIALS
  readonly requests: (ids: Ids) => ReadonlyArray<Request>
}

/** The privileged credentials (admin and support endpoints serve any user's ids by design). */
const CREDENTIALS = { user: "", admin: ADMIN_TOKEN, support: SUPPORT_TOKEN } as const

const user = (requests: Entry["requests"]): Entry => ({ control: "user", requests })
const admin = (requests: Entry["requests"]): Entry => ({ control: "admin", requests })
const support = (requests: Entry["requests"]): Entry => ({ control: "support", requests })
/** The projection the rebuild endpoint's control rebuilds. */
const REBUILT = "credits"
const noIds = (request: Request = {}) => () => [request]
const eachRun = (ids: Ids) => [ids.run, ids.endedRun].map((runId) => ({ params: { runId } }))

const MATRIX: Record<string, Entry> = {
  "POST /api/lists/import-sales-nav": user((ids) => [{
    json: { url: ids.keyedSearch, listId: ids.list, maxResults: 20 },
    headers: { "idempotency-key": ids.idempotencyKey }
  }]),
  "GET /api/imports": user(noIds({ query: "limit=100" })),
  "GET /api/imports/{runId}/stream": user(eachRun),
  "GET /api/imports/{runId}": user(eachRun),
  "POST /api/imports/{runId}/cancel": user(eachRun),
  "GET /api/imports/{runId}/events": user(eachRun),
  "GET /api/lists/sales-nav-access": user(noIds()),
  "GET /api/lists/{listId}": user((ids) => [{ params: { listId: ids.list } }]),
  "GET /api/lists/{listId}/rows": user((ids) => [{ params: { listId: ids.list }, query: "limit=500" }]),
  "GET /api/credits": user(noIds()),
  "POST /api/admin/users": admin(() => [{ json: { email: `${crypto.randomUUID()}@example.com` } }]),
  "POST /api/admin/users/{userId}/tokens": admin((ids) => [{ params: { userId: ids.user } }]),
  "DELETE /api/admin/tokens/{tokenId}": admin((ids) => [{ params: { tokenId: ids.token } }]),
  "POST /api/admin/users/{userId}/credits": admin((ids) => [{ params: { userId: ids.user }, json: { amount: 1 } }]),
  "POST /api/admin/users/{userId}/linkedin-accounts": admin((ids) => [{
    params: { userId: ids.user },
    json: { name: "isolation probe", hasSalesNavigator: true }
  }]),
  "GET /api/support/events": support((ids) => [`runId=${ids.run}`, `userId=${ids.user}`, `listId=${ids.list}`].map((query) => ({ query }))),
  "GET /api/support/imports/{runId}": support(eachRun),
  "GET /api/support/projections": support(noIds()),
  // Projections are no tenant's: the control starts a real rebuild (the only one of the test, checked below).
  "POST /api/support/projections/{name}/rebuild": support(noIds({ params: { name: REBUILT } })),
  "GET /api/support/lists/{listId}/rows": support((ids) => [{ params: { listId: ids.list }, query: "asOf=2100-01-01T00:00:00Z" }])
}

interface Answer {
  readonly status: number
  readonly contentType: string | null
  readonly body: string
}

/** One call; a Server-Sent Events stream is answered by its status and content type (it is not read to its end). */
const send = async (api: Client, key: string, request: Request, token: string): Promise<Answer> => {
  const [method, path] = key.split(" ") as [string, string]
  const url = `${api.baseUrl}${fillPath(path, request.params ?? {})}${request.query ? `?${request.query}` : ""}`
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...request.headers }
  if (request.json !== undefined) headers["content-type"] = "application/json"
  const abort = new AbortController()
  const response = await fetch(url, {
    method,
    headers,
    signal: abort.signal,
    ...(request.json !== undefined ? { body: JSON.stringify(request.json) } : {})
  })
  const contentType = response.headers.get("content-type")
  if (contentType?.startsWith("text/event-stream")) {
    abort.abort()
    return { status: response.status, contentType, body: "<stream>" }
  }
  return { status: response.status, contentType, body: await response.text() }
}

const search = (name: string, knobs: string) =>
  `https://www.linkedin.com/sales/search/people?query=(isolation-${name}-${crypto.randomUUID().slice(0, 8)})${knobs}`

/** A tenant with one of everything: a list with rows, an ended keyed import into it, a running import, a spare token. */
const tenant = (api: Client) =>
  Effect.gen(function*() {
    const { userId, token } = yield* makeUser({ credits: 1_000 })
    const first = (yield* startImport(api, token, { url: search("first", "&fakeCount=30"), maxResults: 30 })).body
    yield* awaitImport(api, token, first.runId, first.listId)
    const keyedSearch = search("keyed", "&fakeCount=60")
    const idempotencyKey = `isolation-${crypto.randomUUID()}`
    const keyed = yield* call(() =>
      api.request("POST", "/api/lists/import-sales-nav", {
        token,
        json: { url: keyedSearch, listId: first.listId, maxResults: 20 },
        headers: { "idempotency-key": idempotencyKey }
      })
    )
    expect(keyed.status, JSON.stringify(keyed.body)).toBe(200)
    yield* awaitImport(api, token, keyed.body.runId, first.listId)
    const running = (yield* startImport(api, token, { url: search("slow", "&fakeLatencyMs=3600000"), maxResults: 10 })).body
    const status = yield* eventually(
      call(() => api.request("GET", `/api/imports/${running.runId}`, { token })),
      (r) => r.body.status === "running",
      { timeoutMs: 60_000 }
    )
    expect(status.body.status).toBe("running")
    const spare = yield* call(() => api.request("POST", `/api/admin/users/${userId}/tokens`, { token: ADMIN_TOKEN }))
    const ids: Ids = {
      user: userId,
      list: first.listId,
      run: running.runId,
      endedRun: keyed.body.runId,
      token: spare.body.tokenId,
      keyedSearch,
      idempotencyKey
    }
    return { token, spareToken: spare.body.token as string, ids }
  })

const nowhere = (): Ids => ({
  user: crypto.randomUUID(),
  list: crypto.randomUUID(),
  run: `run_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`,
  endedRun: `run_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`,
  token: crypto.randomUUID(),
  keyedSearch: search("nowhere", ""),
  idempotencyKey: `isolation-${crypto.randomUUID()}`
})

layer(TestApp(), { excludeTestServices: true })("tenant isolation", (it) => {
  it("the matrix names every endpoint the API serves, and nothing else", () => {
    expect(Object.keys(MATRIX).sort()).toEqual(servedEndpoints.map((e) => e.key).sort())
  })

  it.effect("another user's ids answer exactly as ids that exist nowhere, leak nothing and change nothing", () =>
    Effect.gen(function*() {
      const api = yield* client
      const victim = yield* tenant(api)
      const caller = yield* tenant(api)
      const before = yield* tenantState(victim.ids.user)
      const victimSecrets = [...Object.values(victim.ids), victim.token, victim.spareToken]
      const credentials = { ...CREDENTIALS, user: caller.token }
      const projections = () => call(() => api.request("GET", "/api/support/projections", { token: SUPPORT_TOKEN }))
      const versionOf = (reply: Reply) => reply.body.projections.find((p: { name: string }) => p.name === REBUILT).version as number
      const versionBefore = versionOf(yield* projections())

      for (const [key, entry] of Object.entries(MATRIX)) {
        const theirs = entry.requests(victim.ids)
        const nobodys = entry.requests(nowhere())
        expect(theirs.length, key).toBe(nobodys.length)
        const owns = entry.requests(caller.ids)
        for (const [i, request] of theirs.entries()) {
          const answer = yield* call(() => send(api, key, request, caller.token))
          const reference = yield* call(() => send(api, key, nobodys[i]!, caller.token))
          const where = `${key} ${JSON.stringify(request)}`
          expect(answer, where).toEqual(reference)
          expect(answer.status, where).toBeLessThan(500)
          // A request that names the other user's things is refused (the id-free ones answer the caller's own).
          if (JSON.stringify(request) !== JSON.stringify(nobodys[i])) expect(answer.status, where).toBeGreaterThanOrEqual(400)
          // Admin and support endpoints refuse a user's token whatever the ids (and those without ids too).
          if (entry.control !== "user") expect(answer.status, where).toBe(401)
          for (const secret of victimSecrets) expect(answer.body, where).not.toContain(secret)
          // The same request with the caller's own ids (and the credential the endpoint is for) reaches
          // its handler: it succeeds, or is refused for a reason of its own (cancelling an ended import).
          const own = yield* call(() => send(api, key, owns[i]!, credentials[entry.control]))
          expect(own.status, `${key} control`).toBeLessThan(500)
          if (own.status >= 300) expect(own.body, `${key} control`).not.toEqual(answer.body)
        }
      }

      // The control's rebuild has switched, and it was the only one: the user's token started none.
      const rebuilt = yield* eventually(projections(), (r) => r.body.projections.every((p: { status: string }) => p.status === "live"), {
        timeoutMs: 60_000
      })
      expect(versionOf(rebuilt)).toBe(versionBefore + 1)
      expect(yield* tenantState(victim.ids.user)).toEqual(before)
      // Both of the victim's tokens still work, and its running import still runs.
      for (const token of [victim.token, victim.spareToken]) {
        expect((yield* call(() => api.request("GET", `/api/imports/${victim.ids.run}`, { token }))).body.status).toBe("running")
      }
    }), 180_000)
})
