/**
 * Idempotency keys of the import POST. A key is claimed in the command's own transaction
 * (so it exists exactly when its import does, and two requests racing with one key cannot
 * both claim it: the second waits on the unique index, then finds the first's); the answer
 * to a retry is derived from the import the key points at, so nothing of the response is
 * stored. A key lives 24 hours; an import the engine refused gives its key back.
 */
import { Effect, Option, Schema } from "effect"
import { createHash } from "node:crypto"
import type { Database } from "../db/Database.ts"

/** How long a key answers with its first import. */
export const KEY_TTL_HOURS = 24

/** The key was used with another request body. */
export class IdempotencyKeyReused extends Schema.TaggedError<IdempotencyKeyReused>()("IdempotencyKeyReused", {}) {}

/** The request that first used the key is still being processed. */
export class IdempotencyKeyInUse extends Schema.TaggedError<IdempotencyKeyInUse>()("IdempotencyKeyInUse", {}) {}

/** The fingerprint of a request: equal for the same body once defaults are applied. */
export const requestHash = (request: {
  readonly url: string
  readonly listId?: string | undefined
  readonly listName?: string | undefined
  readonly maxResults: number
  readonly skipExistingCustomers: boolean
}): string =>
  createHash("sha256").update(JSON.stringify([
    request.url,
    request.listId ?? null,
    request.listName ?? null,
    request.maxResults,
    request.skipExistingCustomers
  ])).digest("hex")

export interface KeyRecord {
  readonly requestHash: string
  readonly importId: string
}

export const idempotencyKeys = (db: Database["Service"]) => ({
  /** The user's unexpired key, if any. */
  find: (userId: string, key: string) =>
    db.query((q) =>
      q.selectFrom("idempotency_keys").select(["request_hash", "import_id", "created_at"])
        .where("user_id", "=", userId).where("key", "=", key).executeTakeFirst()
    ).pipe(Effect.map((row) =>
      Option.filter(
        Option.map(Option.fromNullishOr(row), (r): KeyRecord & { readonly createdAt: Date } => ({
          requestHash: r.request_hash,
          importId: r.import_id,
          createdAt: new Date(r.created_at)
        })),
        (r) => r.createdAt.getTime() > Date.now() - KEY_TTL_HOURS * 3_600_000
      )
    )),

  /** Gives back the keys of an import the engine refused: a retry starts afresh. */
  release: (importId: string) => db.query((q) => q.deleteFrom("idempotency_keys").where("import_id", "=", importId).execute()),

  /** Forgets keys past their time. */
  expire: db.query((q) =>
    q.deleteFrom("idempotency_keys").where("created_at", "<", new Date(Date.now() - KEY_TTL_HOURS * 3_600_000)).execute()
  )
})
