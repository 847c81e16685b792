/**
 * Applies every migration in migrations/ that has not run yet (the service, at start-up),
 * or tells which have not (task workers, which never migrate).
 * Kysely's migrator takes a lock, so concurrent start-ups apply each migration once.
 */
import { type Kysely, sql } from "kysely"
import { Migrator } from "kysely/migration"
import { migrations } from "../../migrations/index.ts"

export const migrateToLatest = async (db: Kysely<any>): Promise<void> => {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } })
  const { error, results } = await migrator.migrateToLatest()
  if (error !== undefined) {
    const failed = results?.find((r: { status: string }) => r.status === "Error")?.migrationName
    throw Object.assign(error instanceof Error ? error : new Error(String(error)), { migration: failed })
  }
}

/** The migrations this code knows that the database has not applied (all of them on an empty one). */
export const missingMigrations = async (db: Kysely<any>): Promise<ReadonlyArray<string>> => {
  const present = await sql<{ present: boolean }>`select to_regclass('kysely_migration') is not null as present`.execute(db)
  const applied = present.rows[0]?.present
    ? new Set((await sql<{ name: string }>`select name from kysely_migration`.execute(db)).rows.map((r) => r.name))
    : new Set<string>()
  return Object.keys(migrations).filter((name) => !applied.has(name))
}
