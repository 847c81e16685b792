/**
 * Users, their API tokens and their connected LinkedIn accounts.
 *
 * Tokens are 192 random bits, shown once, and stored only as SHA-256 hashes: a leaked
 * database does not leak working tokens. Each has an id, so an admin can revoke it without
 * knowing it; a revoked token stops working on the next request (the import POST may recognise a
 * token from a cache, but its command re-checks the hash in its own statement: src/http/authorization.ts).
 */
import { Context, Effect, Layer, Option, Schema } from "effect"
import { sql } from "kysely"
import { createHash, randomBytes } from "node:crypto"
import { Credits } from "../credits/Credits.ts"
import { Database, type SqlError } from "../db/Database.ts"

export interface User {
  readonly id: string
  readonly email: string
}

export interface LinkedinAccount {
  readonly id: string
  readonly userId: string
  readonly name: string
  readonly providerAccountId: string | null
  readonly hasSalesNavigator: boolean
}

export class EmailTaken extends Schema.TaggedError<EmailTaken>()("EmailTaken", { email: Schema.String }) {}
export class UserNotFound extends Schema.TaggedError<UserNotFound>()("UserNotFound", { userId: Schema.String }) {}
export class TokenNotFound extends Schema.TaggedError<TokenNotFound>()("TokenNotFound", { tokenId: Schema.String }) {}

/** A token as issued: its id, and the token itself (shown once). */
export interface IssuedToken {
  readonly tokenId: string
  readonly token: string
}

export const hashToken = (token: string): string => createHash("sha256").update(token, "utf8").digest("hex")
const newToken = (): string => `sni_${randomBytes(24).toString("base64url")}`

export interface NewUser {
  readonly email: string
  readonly credits?: number | undefined
  readonly salesNavigator?: boolean | undefined
}

export class Accounts extends Context.Service<Accounts, {
  /** The user a bearer token belongs to. */
  authenticate(token: string): Effect.Effect<Option.Option<User>, SqlError>
  /** Creates a user with a fresh token (returned once), optional credits and a Sales Navigator account. */
  createUser(input: NewUser): Effect.Effect<{ readonly userId: string } & IssuedToken, EmailTaken | SqlError>
  /** Issues another token for the user (returned once). */
  issueToken(userId: string): Effect.Effect<IssuedToken, UserNotFound | SqlError>
  /** Revokes a token: it stops working on the next request. Revoking it again changes nothing. */
  revokeToken(tokenId: string): Effect.Effect<void, TokenNotFound | SqlError>
  connectLinkedinAccount(
    userId: string,
    input: { readonly name: string; readonly hasSalesNavigator: boolean; readonly providerAccountId?: string | undefined }
  ): Effect.Effect<{ readonly id: string }, UserNotFound | SqlError>
  /** The caller's oldest LinkedIn account with Sales Navigator, if any. */
  salesNavAccount(userId: string): Effect.Effect<Option.Option<LinkedinAccount>, SqlError>
  linkedinAccount(id: string): Effect.Effect<Option.Option<LinkedinAccount>, SqlError>
  userExists(userId: string): Effect.Effect<boolean, SqlError>
  countUsers: Effect.Effect<number, SqlError>
}>()("app/accounts/Accounts") {
  static readonly layer = Layer.effect(
    Accounts,
    Effect.gen(function*() {
      const db = yield* Database
      const credits = yield* Credits

      const authenticate = (token: string) =>
        token === ""
          ? Effect.succeed(Option.none<User>())
          : db.query((q) =>
            q.selectFrom("api_tokens").innerJoin("users", "users.id", "api_tokens.user_id")
              .select(["users.id", "users.email"]).where("api_tokens.token_hash", "=", hashToken(token))
              .where("api_tokens.revoked_at", "is", null)
              .executeTakeFirst()
          ).pipe(Effect.map(Option.fromNullishOr))

      const userExists = (userId: string) =>
        db.query((q) => q.selectFrom("users").select("id").where("id", "=", userId).executeTakeFirst())
          .pipe(Effect.map((row) => row !== undefined))

      const insertAccount = (
        userId: string,
        input: { readonly name: string; readonly hasSalesNavigator: boolean; readonly providerAccountId?: string | undefined }
      ) => {
        const id = crypto.randomUUID()
        return db.query((q) =>
          q.insertInto("linkedin_accounts").values({
            id,
            user_id: userId,
            name: input.name,
            provider_account_id: input.providerAccountId ?? null,
            has_sales_navigator: input.hasSalesNavigator
          }).execute()
        ).pipe(Effect.as({ id }))
      }

      const insertToken = (userId: string) => {
        const issued = { tokenId: crypto.randomUUID(), token: newToken() }
        return db.query((q) =>
          q.insertInto("api_tokens").values({ id: issued.tokenId, token_hash: hashToken(issued.token), user_id: userId }).execute()
        ).pipe(Effect.as(issued))
      }

      const createUser = (input: NewUser) =>
        db.transaction(Effect.gen(function*() {
          const userId = crypto.randomUUID()
          const inserted = yield* db.query((q) =>
            q.insertInto("users").values({ id: userId, email: input.email })
              .onConflict((oc) => oc.column("email").doNothing()).returning("id").executeTakeFirst()
          )
          if (!inserted) return yield* new EmailTaken({ email: input.email })
          const issued = yield* insertToken(userId)
          if (input.salesNavigator) {
            yield* insertAccount(userId, { name: `${input.email} (Sales Navigator)`, hasSalesNavigator: true })
          }
          // A new user's balance is 0: a safe-integer grant always fits.
          if ((input.credits ?? 0) > 0) yield* credits.grant(userId, input.credits!, "initial grant").pipe(Effect.catchTag("CreditsOutOfRange", Effect.die))
          return { userId, ...issued }
        }))

      const issueToken = (userId: string) =>
        Effect.gen(function*() {
          if (!(yield* userExists(userId))) return yield* new UserNotFound({ userId })
          return yield* insertToken(userId)
        })

      const revokeToken = (tokenId: string) =>
        db.query((q) =>
          q.updateTable("api_tokens").set((eb) => ({ revoked_at: eb.fn.coalesce("revoked_at", sql<Date>`now()`) }))
            .where("id", "=", tokenId).returning("id").executeTakeFirst()
        ).pipe(Effect.flatMap((row) => row ? Effect.void : Effect.fail(new TokenNotFound({ tokenId }))))

      const connectLinkedinAccount = (
        userId: string,
        input: { readonly name: string; readonly hasSalesNavigator: boolean; readonly providerAccountId?: string | undefined }
      ) =>
        Effect.gen(function*() {
          if (!(yield* userExists(userId))) return yield* new UserNotFound({ userId })
          return yield* insertAccount(userId, input)
        })

      const toAccount = (row: {
        id: string
        user_id: string
        name: string
        provider_account_id: string | null
        has_sales_navigator: boolean
      }): LinkedinAccount => ({
        id: row.id,
        userId: row.user_id,
        name: row.name,
        providerAccountId: row.provider_account_id,
        hasSalesNavigator: row.has_sales_navigator
      })
      const accountColumns = ["id", "user_id", "name", "provider_account_id", "has_sales_navigator"] as const

      const salesNavAccount = (userId: string) =>
        db.query((q) =>
          q.selectFrom("linkedin_accounts").select(accountColumns)
            .where("user_id", "=", userId).where("has_sales_navigator", "=", true)
            .orderBy("created_at").orderBy("id").limit(1).executeTakeFirst()
        ).pipe(Effect.map((row) => Option.map(Option.fromNullishOr(row), toAccount)))

      const linkedinAccount = (id: string) =>
        db.query((q) => q.selectFrom("linkedin_accounts").select(accountColumns).where("id", "=", id).executeTakeFirst())
          .pipe(Effect.map((row) => Option.map(Option.fromNullishOr(row), toAccount)))

      const countUsers = db.query((q) =>
        q.selectFrom("users").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow()
      ).pipe(Effect.map((r) => Number(r.n)))

      return Accounts.of({
        authenticate,
        createUser,
        issueToken,
        revokeToken,
        connectLinkedinAccount,
        salesNavAccount,
        linkedinAccount,
        userExists,
        countUsers
      })
    })
  )
}
