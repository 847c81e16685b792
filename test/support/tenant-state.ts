/**
 * Everything the database holds of one user, row by row: what a request of another user (or
 * a hostile one) must leave exactly as it was. Rows are compared as JSON, each table sorted,
 * so two snapshots are equal only if no row was added, removed or changed.
 */
import { Effect } from "effect"
import { Database } from "../../src/db/Database.ts"

/** Tables with a user_id column. */
const USER_TABLES = [
  "api_tokens",
  "linkedin_accounts",
  "lists",
  "list_rows",
  "lead_keys",
  "credit_accounts",
  "credit_holds",
  "imports",
  "outbox",
  "idempotency_keys",
  "import_rate_limits",
  "events"
] as const

const sorted = (rows: ReadonlyArray<unknown>) => rows.map((r) => JSON.stringify(r)).sort()

export const tenantState = (userId: string) =>
  Effect.gen(function*() {
    const db = yield* Database
    const state: Record<string, ReadonlyArray<string>> = {}
    state.users = sorted(yield* db.query((q) => q.selectFrom("users").selectAll().where("id", "=", userId).execute()))
    for (const table of USER_TABLES) {
      state[table] = sorted(yield* db.query((q) => q.selectFrom(table).selectAll().where("user_id", "=", userId).execute()))
    }
    state.import_seen_keys = sorted(yield* db.query((q) =>
      q.selectFrom("import_seen_keys").innerJoin("imports", "imports.import_id", "import_seen_keys.import_id")
        .selectAll("import_seen_keys").where("imports.user_id", "=", userId).execute()
    ))
    state.streams = sorted(yield* db.query((q) =>
      q.selectFrom("streams").selectAll()
        .where("stream_id", "in", (s) => s.selectFrom("events").select("stream_id").where("user_id", "=", userId))
        .execute()
    ))
    return state
  }).pipe(Effect.orDie)
