/**
 * Group commit of the import command (startCommands): commands that arrive together go as one
 * statement, and each gets exactly what it would get alone — the decision of decideStartImport
 * on its user's state, its rows and its reservation; a user's second command sees the first one's
 * commit (its idempotency key, its reservation); a command that breaks the batch's statement
 * fails alone and writes nothing, and the others still start.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Exit, Option, Result } from "effect"
import { hashToken } from "../../src/accounts/Accounts.ts"
import { Accounts } from "../../src/accounts/Accounts.ts"
import { Credits } from "../../src/credits/Credits.ts"
import { Database, SqlError } from "../../src/db/Database.ts"
import { type StartCommandInput, startCommands } from "../../src/imports/startCommand.ts"
import { checkUrl, decideStartImport } from "../../src/imports/startImport.ts"
import { makeUser, PEOPLE_SEARCH, snapshotOf } from "../support/fixtures.ts"
import { TestApp } from "../support/server.ts"

const inputOf = (user: { userId: string; token: string }, over: Partial<StartCommandInput> = {}, maxResults = 10): StartCommandInput => ({
  userId: user.userId,
  request: { url: PEOPLE_SEARCH, maxResults, skipExistingCustomers: true },
  normalizedUrl: Result.getOrThrow(checkUrl(PEOPLE_SEARCH)),
  importId: crypto.randomUUID(),
  newListId: crypto.randomUUID(),
  causationId: crypto.randomUUID(),
  now: new Date(),
  tokenHash: hashToken(user.token),
  rateLimit: { perMinute: 0, burst: 1 },
  engine: "trigger",
  ...over
})

/** The Database service, counting the statements sent through it. */
const counting = (db: Database["Service"]) => {
  const counter = { statements: 0 }
  const service: Database["Service"] = { ...db, query: (f) => Effect.suspend(() => (counter.statements++, db.query(f))) }
  return { service, counter }
}

layer(TestApp(), { excludeTestServices: true })("start commands, group commit", (it) => {
  it.effect("commands made together share a statement, and each decides and writes as it would alone", () =>
    Effect.gen(function*() {
      const db = yield* Database
      const accounts = yield* Accounts
      const credits = yield* Credits
      const users = [
        ...(yield* Effect.forEach([0, 5, 10, 25, 40, 1, 30, 12], (n) => makeUser({ credits: n }))),
        yield* makeUser({ credits: 50, salesNavigator: false })
      ]
      // The state each one's decision is taken on, read before any command runs (each user has one).
      const states = yield* Effect.forEach(users, (u) =>
        Effect.all({
          account: accounts.salesNavAccount(u.userId),
          balance: credits.balance(u.userId),
          before: snapshotOf(u.userId)
        }).pipe(Effect.orDie))
      const inputs = users.map((u, i) => inputOf(u, {}, 5 + 3 * i))
      const { counter, service } = counting(db)
      const start = startCommands(service)
      const outcomes = yield* Effect.forEach(inputs, (input) => start(input), { concurrency: "unbounded" }).pipe(Effect.orDie)
      expect(counter.statements).toBeLessThan(inputs.length)

      for (const [i, input] of inputs.entries()) {
        const { account, balance, before } = states[i]!
        const decision = decideStartImport(
          { ...input.request, userId: input.userId, now: input.now, importId: input.importId, newListId: input.newListId },
          { salesNavAccountId: Option.getOrUndefined(Option.map(account, (a) => a.id)), listOwned: false, availableCredits: balance.available }
        )
        const after = yield* snapshotOf(input.userId)
        if (Result.isFailure(decision)) {
          expect(outcomes[i]).toMatchObject({ outcome: "rejected", reason: decision.failure._tag })
          expect(after).toEqual(before)
          continue
        }
        const d = decision.success
        expect(outcomes[i]).toEqual({
          outcome: "started",
          listId: d.listId,
          accountId: d.accountId,
          maxResults: d.maxResults,
          wasCapped: d.wasCapped,
          runId: null
        })
        expect(after).toEqual({
          ...before,
          events: before.events! + 4, // ListCreated, ImportRequested, ListResolved, CreditsReserved
          lists: before.lists! + 1,
          outbox: before.outbox! + 1,
          holds: before.holds! + 1,
          imports: before.imports! + 1,
          reserved: before.reserved! + d.maxResults
        })
      }
    }))

  it.effect("a user's commands made together run one after the other: the second sees the first's key and reservation", () =>
    Effect.gen(function*() {
      const db = yield* Database
      const start = startCommands(db)
      const user = yield* makeUser({ credits: 15 })
      const key = crypto.randomUUID()
      const first = inputOf(user, { idempotencyKey: key })
      const retry = inputOf(user, { idempotencyKey: key })
      const second = inputOf(user)
      const third = inputOf(user)
      const [a, b, c, d] = yield* Effect.forEach([first, retry, second, third], (input) => start(input), { concurrency: "unbounded" })
        .pipe(Effect.orDie)
      expect(a).toMatchObject({ outcome: "started", maxResults: 10, wasCapped: false })
      expect(b).toMatchObject({ outcome: "replay", importId: first.importId })
      expect(c).toMatchObject({ outcome: "started", maxResults: 5, wasCapped: true })
      expect(d).toEqual({ outcome: "rejected", reason: "InsufficientCredits", available: 0 })
      const balance = yield* (yield* Credits).balance(user.userId).pipe(Effect.orDie)
      expect(balance.available).toBe(0)
    }))

  it.effect("a command that breaks the batch's statement fails alone, writing nothing; the others start", () =>
    Effect.gen(function*() {
      const db = yield* Database
      const start = startCommands(db)
      const users = yield* Effect.forEach([1, 2, 3, 4], () => makeUser({ credits: 100 }))
      const before = yield* snapshotOf(users[2]!.userId)
      const inputs = users.map((u, i) =>
        i === 2 ? inputOf(u, { request: { url: PEOPLE_SEARCH, maxResults: 10, skipExistingCustomers: true, listId: "not-a-uuid" } }) : inputOf(u)
      )
      const exits = yield* Effect.forEach(inputs, (input) => Effect.exit(start(input)), { concurrency: "unbounded" })
      exits.forEach((exit, i) => {
        if (i === 2) {
          expect(Exit.isFailure(exit)).toBe(true)
          const error = Exit.isFailure(exit) ? Option.getOrUndefined(Exit.findErrorOption(exit)) : undefined
          expect(error).toBeInstanceOf(SqlError)
          expect((error as SqlError).kind).toBe("data")
        } else {
          expect(exit).toMatchObject({ _tag: "Success", value: { outcome: "started", maxResults: 10 } })
        }
      })
      expect(yield* snapshotOf(users[2]!.userId)).toEqual(before)
    }))

  it.effect("two instances' batches of the same users, made in opposite orders, never deadlock", () =>
    Effect.gen(function*() {
      const db = yield* Database
      // Every statement's failure code, as each instance's batches meet them.
      const codes: Array<string | undefined> = []
      const watched: Database["Service"] = {
        ...db,
        query: (f) => db.query(f).pipe(Effect.tapError((e) => Effect.sync(() => codes.push(e.code))))
      }
      const [a, b] = [startCommands(watched), startCommands(watched)]
      for (let round = 0; round < 5; round++) {
        const users = yield* Effect.forEach([1, 2, 3, 4, 5, 6], () => makeUser({ credits: 100 }))
        const outcomes = yield* Effect.all([
          Effect.forEach(users, (u) => a(inputOf(u)), { concurrency: "unbounded" }),
          Effect.forEach([...users].reverse(), (u) => b(inputOf(u)), { concurrency: "unbounded" })
        ], { concurrency: "unbounded" }).pipe(Effect.orDie)
        expect(outcomes.flat().map((o) => o.outcome)).toEqual(Array(12).fill("started"))
      }
      expect(codes).toEqual([])
    }))
})
