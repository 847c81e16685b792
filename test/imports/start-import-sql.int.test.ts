/**
 * `start_import` (migrations/0007) is the import command in SQL. It must be what the pure
 * `decideStartImport` decides — the same rejection, or the same events with the same ids,
 * streams and versions — and write the same rows the TS inline projections write for those
 * events: a rebuild of every read model from the log gives back exactly the tables it wrote.
 * And it refuses a revoked token's hash, writing nothing.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Option, Result } from "effect"
import * as fc from "fast-check"
import { sql } from "kysely"
import { eventCodec, ListCreated, listStream } from "../../events/index.ts"
import { inlineProjections } from "../../projections/index.ts"
import { Accounts, hashToken } from "../../src/accounts/Accounts.ts"
import { Credits } from "../../src/credits/Credits.ts"
import { Database } from "../../src/db/Database.ts"
import { EventStore } from "../../src/eventstore/EventStore.ts"
import { rebuildProjections } from "../../src/eventstore/rebuild.ts"
import { runStartCommand, type StartCommandInput } from "../../src/imports/startCommand.ts"
import { checkUrl, decideStartImport } from "../../src/imports/startImport.ts"
import { Lists } from "../../src/lists/Lists.ts"
import { makeUser, PEOPLE_SEARCH, snapshotOf } from "../support/fixtures.ts"
import { dumpProjections } from "../support/projection-dump.ts"
import { eventually } from "../support/eventually.ts"
import { TestApp } from "../support/server.ts"

const NO_LIMIT = { perMinute: 0, burst: 1 }

/** A list of `userId`'s, made the way lists are made: its ListCreated appended. */
const listOf = (userId: string) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const listId = crypto.randomUUID()
    yield* store.append(listStream(listId), [new ListCreated({ listId, userId, name: "existing" })], { expectedVersion: "no-stream", userId })
    return listId
  }).pipe(Effect.orDie)

const Case = fc.record({
  credits: fc.integer({ min: -3, max: 40 }),
  salesNavigator: fc.boolean(),
  list: fc.constantFrom("new", "own", "other", "missing"),
  listName: fc.constantFrom(undefined, "", "   ", " My leads "),
  maxResults: fc.integer({ min: 1, max: 50 }),
  skipExistingCustomers: fc.boolean(),
  key: fc.boolean(),
  runId: fc.boolean()
})

layer(TestApp(), { excludeTestServices: true })("start_import", (it) => {
  it.effect("decides what decideStartImport decides, and records its events exactly", () =>
    Effect.gen(function*() {
      const db = yield* Database
      const store = yield* EventStore
      const accounts = yield* Accounts
      const lists = yield* Lists
      const credits = yield* Credits
      const other = yield* makeUser({ credits: 10 })
      const othersList = yield* listOf(other.userId)

      const check = (c: typeof Case extends fc.Arbitrary<infer T> ? T : never) =>
        Effect.gen(function*() {
          const user = yield* makeUser({ credits: Math.max(c.credits, 0), salesNavigator: c.salesNavigator })
          if (c.credits < 0) yield* credits.grant(user.userId, c.credits, "test").pipe(Effect.orDie)
          const listId = c.list === "new"
            ? undefined
            : c.list === "own"
            ? yield* listOf(user.userId)
            : c.list === "other"
            ? othersList
            : crypto.randomUUID()
          const request = { url: PEOPLE_SEARCH, listId, listName: c.listName, maxResults: c.maxResults, skipExistingCustomers: c.skipExistingCustomers }

          // The state the TS decider is given, read as the command used to read it.
          const account = yield* accounts.salesNavAccount(user.userId).pipe(Effect.orDie)
          const owned = listId === undefined ? false : Option.isSome(yield* lists.find(user.userId, listId).pipe(Effect.orDie))
          const balance = yield* credits.balance(user.userId).pipe(Effect.orDie)
          const input: StartCommandInput = {
            userId: user.userId,
            request,
            normalizedUrl: Result.getOrThrow(checkUrl(PEOPLE_SEARCH)),
            importId: crypto.randomUUID(),
            newListId: crypto.randomUUID(),
            causationId: crypto.randomUUID(),
            now: new Date(),
            idempotencyKey: c.key ? crypto.randomUUID() : undefined,
            tokenHash: hashToken(user.token),
            rateLimit: NO_LIMIT,
            runId: c.runId ? `run_${crypto.randomUUID().replace(/-/g, "")}` : undefined,
            engine: c.runId ? "local" : "trigger"
          }
          const decision = decideStartImport(
            { ...request, userId: user.userId, now: input.now, importId: input.importId, newListId: input.newListId },
            {
              salesNavAccountId: Option.getOrUndefined(Option.map(account, (a) => a.id)),
              listOwned: owned,
              availableCredits: balance.available
            }
          )
          const before = yield* snapshotOf(user.userId)
          const outcome = yield* runStartCommand(db, input).pipe(Effect.orDie)

          if (Result.isFailure(decision)) {
            expect(outcome).toMatchObject({ outcome: "rejected", reason: decision.failure._tag })
            expect(yield* snapshotOf(user.userId)).toEqual(before)
            const keys = yield* db.query((q) => q.selectFrom("idempotency_keys").selectAll().where("user_id", "=", user.userId).execute())
              .pipe(Effect.orDie)
            expect(keys).toEqual([]) // a rejected request gives its key back
            return
          }
          const d = decision.success
          expect(outcome).toEqual({
            outcome: "started",
            listId: d.listId,
            accountId: d.accountId,
            maxResults: d.maxResults,
            wasCapped: d.wasCapped,
            runId: input.runId ?? null
          })
          const recorded = yield* store.readCommitted({ correlationId: input.importId }).pipe(Effect.orDie)
          const expected = [
            ...(d.listCreated ? [{ stream: listStream(d.listId), version: 1, event: d.listCreated }] : []),
            { stream: `import-${input.importId}`, version: 1, event: d.importEvents[0] },
            { stream: `import-${input.importId}`, version: 2, event: d.importEvents[1] },
            { stream: `credits-${user.userId}`, version: balance.version + 1, event: d.reservation }
          ]
          const metadata = { correlationId: input.importId, causationId: input.causationId, userId: user.userId }
          expect(recorded.map((e) => ({ stream: e.streamId, version: e.version, event: eventCodec.encode(e.event), metadata: e.metadata })))
            .toEqual([
              ...expected.map((e) => ({ ...e, event: eventCodec.encode(e.event), metadata })),
              ...(input.runId
                ? [{
                  stream: `import-${input.importId}`,
                  version: 3,
                  event: { type: "ImportEnqueued", schemaVersion: 1, data: { importId: input.importId, runId: input.runId, engine: "local" } },
                  metadata: { correlationId: input.importId, userId: user.userId }
                }]
                : [])
            ])
          const outbox = yield* db.query((q) => q.selectFrom("outbox").selectAll().where("import_id", "=", input.importId).execute())
            .pipe(Effect.orDie)
          expect(outbox).toMatchObject([{ user_id: user.userId, account_id: d.accountId, run_id: input.runId ?? null }])
          expect(outbox[0]!.dispatched_at === null).toBe(input.runId === undefined)
          const runs = yield* db.query((q) => q.selectFrom("local_runs").select(["run_id", "status"]).where("import_id", "=", input.importId).execute())
            .pipe(Effect.orDie)
          expect(runs).toEqual(input.runId ? [{ run_id: input.runId, status: "pending" }] : [])
        })

      const run = Effect.runPromiseWith(yield* Effect.context<Accounts | Credits | Database | EventStore>())
      yield* Effect.promise(() => fc.assert(fc.asyncProperty(Case, (c) => run(check(c))), { numRuns: 40 }))
    }))

  it.effect("writes the rows the inline projections write: a rebuild from the events gives the same tables", () =>
    Effect.gen(function*() {
      const db = yield* Database
      const user = yield* makeUser({ credits: 70 })
      const own = yield* listOf(user.userId)
      const base = (over: Partial<StartCommandInput["request"]>, runId: boolean) =>
        runStartCommand(db, {
          userId: user.userId,
          request: { url: PEOPLE_SEARCH, maxResults: 30, skipExistingCustomers: true, ...over },
          normalizedUrl: Result.getOrThrow(checkUrl(PEOPLE_SEARCH)),
          importId: crypto.randomUUID(),
          newListId: crypto.randomUUID(),
          causationId: crypto.randomUUID(),
          now: new Date(),
          idempotencyKey: crypto.randomUUID(),
          rateLimit: { perMinute: 1000, burst: 100 },
          runId: runId ? `run_${crypto.randomUUID().replace(/-/g, "")}` : undefined,
          engine: runId ? "local" : "trigger"
        }).pipe(Effect.orDie)
      expect(yield* base({ listName: "Mine" }, true)).toMatchObject({ outcome: "started", maxResults: 30, wasCapped: false })
      expect(yield* base({ listId: own, skipExistingCustomers: false }, false)).toMatchObject({ outcome: "started", maxResults: 30 })
      expect(yield* base({ maxResults: 25 }, true)).toMatchObject({ outcome: "started", maxResults: 10, wasCapped: true })
      expect(yield* base({}, true)).toMatchObject({ outcome: "rejected", reason: "InsufficientCredits" })

      // Every import with a local run is run by the engine of this test app: let them all end first.
      const running = db.query((q) =>
        sql<{ n: number }>`select count(*)::int as n from imports i join local_runs r using (import_id)
          where i.status not in ('completed', 'failed', 'canceled')`.execute(q)
      ).pipe(Effect.orDie, Effect.map(({ rows }) => rows[0]!.n))
      expect(yield* eventually(running, (n) => n === 0, { timeoutMs: 60_000 })).toBe(0)
      const written = yield* dumpProjections
      expect(written.imports!.filter((row) => row.includes(user.userId)).length).toBe(3)
      yield* rebuildProjections(inlineProjections, { batchSize: 5 }).pipe(Effect.orDie)
      expect(yield* dumpProjections).toEqual(written)
    }))

  it.effect("refuses a revoked token's hash (and one of another user), writing nothing", () =>
    Effect.gen(function*() {
      const db = yield* Database
      const accounts = yield* Accounts
      const user = yield* makeUser({ credits: 50 })
      const other = yield* makeUser({ credits: 50 })
      const input = (tokenHash: string): StartCommandInput => ({
        userId: user.userId,
        request: { url: PEOPLE_SEARCH, maxResults: 5, skipExistingCustomers: true },
        normalizedUrl: Result.getOrThrow(checkUrl(PEOPLE_SEARCH)),
        importId: crypto.randomUUID(),
        newListId: crypto.randomUUID(),
        causationId: crypto.randomUUID(),
        now: new Date(),
        idempotencyKey: crypto.randomUUID(),
        tokenHash,
        rateLimit: { perMinute: 1000, burst: 100 },
        engine: "trigger"
      })
      const before = yield* snapshotOf(user.userId)
      expect(yield* runStartCommand(db, input(hashToken(other.token))).pipe(Effect.orDie)).toEqual({ outcome: "unauthorized" })
      yield* accounts.revokeToken(user.tokenId).pipe(Effect.orDie)
      expect(yield* runStartCommand(db, input(hashToken(user.token))).pipe(Effect.orDie)).toEqual({ outcome: "unauthorized" })
      expect(yield* snapshotOf(user.userId)).toEqual(before)
      const limits = yield* db.query((q) => q.selectFrom("import_rate_limits").selectAll().where("user_id", "=", user.userId).execute())
        .pipe(Effect.orDie)
      expect(limits).toEqual([]) // nor the rate limit
    }))
})
