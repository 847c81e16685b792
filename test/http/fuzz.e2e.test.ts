/**
 * Fuzzing the import endpoint over the socket: random bodies (well-formed, near
 * misses and garbage), content types and Authorization headers. The server must
 * never answer 5xx, and an answer other than 200 must leave the caller's events,
 * lists, reservations and outbox exactly as they were.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import { makeUser, PEOPLE_SEARCH, snapshotOf } from "../support/fixtures.ts"
import { client, TestAppOnTriggerStub } from "../support/server.ts"

const nearUrl = fc.oneof(
  fc.constant(PEOPLE_SEARCH),
  fc.constant("https://www.linkedin.com/sales/lists/people/123"),
  fc.constant("https://www.linkedin.com/sales/search/company?query=x"),
  fc.webUrl(),
  fc.string(),
  fc.integer(),
  fc.constant(null)
)
const nearInt = fc.oneof(
  fc.integer({ min: -10, max: 3000 }),
  fc.constantFrom(0, 1, 2 ** 53, 2 ** 53 - 1, -(2 ** 53), 1e308),
  fc.double(),
  fc.string(),
  fc.constant(null),
  fc.boolean()
)
const nearUuid = fc.oneof(fc.uuid(), fc.string(), fc.constant("00000000-0000-0000-0000-000000000000"), fc.integer())
const validBody = fc.record({
  url: fc.constantFrom(PEOPLE_SEARCH, "https://linkedin.com/sales/lists/people/42"),
  maxResults: fc.integer({ min: 1, max: 200 }),
  listName: fc.string({ minLength: 1, maxLength: 200 }),
  skipExistingCustomers: fc.boolean()
}, { requiredKeys: ["url"] }).map((b) => JSON.stringify(b))
const body = fc.oneof(
  { weight: 3, arbitrary: validBody },
  { weight: 6, arbitrary: fc.record({
    url: nearUrl,
    listId: nearUuid,
    listName: fc.oneof(fc.string({ maxLength: 250 }), fc.integer()),
    maxResults: nearInt,
    skipExistingCustomers: fc.oneof(fc.boolean(), fc.string(), fc.constant(null)),
    extra: fc.anything()
  }, { requiredKeys: [] }).map((b) => JSON.stringify(b)) },
  { weight: 1, arbitrary: fc.json() },
  { weight: 1, arbitrary: fc.string() },
  { weight: 1, arbitrary: fc.constant("") }
)
const contentType = fc.constantFrom("application/json", "application/json; charset=utf-8", "text/plain", "", "application/x-www-form-urlencoded")
type Auth = "valid" | "none" | "garbage" | "basic" | "empty"
// A valid token most of the time, so the body checks behind auth are fuzzed too.
const auth = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Auth>("valid") },
  { weight: 1, arbitrary: fc.constantFrom<Auth[]>("none", "garbage", "basic", "empty") }
)
// Run first on every seed, so each kind of answer is reached however the random runs fall.
const examples: Array<[string, string, Auth]> = [
  [JSON.stringify({ url: PEOPLE_SEARCH, maxResults: 10 }), "application/json", "valid"],
  [JSON.stringify({ url: PEOPLE_SEARCH, maxResults: 0 }), "application/json", "valid"],
  [JSON.stringify({ url: PEOPLE_SEARCH, maxResults: 10 }), "application/json", "none"]
]

layer(TestAppOnTriggerStub(), { excludeTestServices: true })("fuzzing POST /api/lists/import-sales-nav", (it) => {
  it.effect("never a 5xx; nothing left behind by an error", () =>
    Effect.gen(function*() {
      const api = yield* client
      const run = <A, E>(effect: Effect.Effect<A, E, never>) => Effect.runPromise(effect)
      const context = yield* Effect.context<any>()
      const withServices = <A, E>(effect: Effect.Effect<A, E, any>) => run(Effect.provideContext(effect, context))
      const statuses = new Map<number, number>()

      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(body, contentType, auth, async (payload, type, authKind) => {
            const user = await withServices(makeUser({ credits: 50 }))
            const authorization = {
              valid: `Bearer ${user.token}`,
              none: undefined,
              garbage: "Bearer sni_garbage",
              basic: `Basic ${user.token}`,
              empty: "Bearer "
            }[authKind]
            const before = await withServices(snapshotOf(user.userId))
            const headers: Record<string, string> = {}
            if (authorization !== undefined) headers.authorization = authorization
            if (type !== "") headers["content-type"] = type
            const reply = await api.request("POST", "/api/lists/import-sales-nav", { body: payload, headers })
            statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1)
            expect(reply.status, JSON.stringify(reply.body)).toBeLessThan(500)
            if (reply.status !== 200) {
              expect(reply.body).toMatchObject({ success: false, code: expect.any(String), error: expect.any(String) })
              expect(await withServices(snapshotOf(user.userId))).toEqual(before)
            } else {
              expect(reply.body.success).toBe(true)
            }
          }),
          { numRuns: 150, examples }
        )
      )
      // The fuzz reached the interesting answers, not just one kind of rejection.
      for (const status of [200, 400, 401]) expect(statuses.get(status) ?? 0, `status ${status}`).toBeGreaterThan(0)
    }), 240_000)
})
