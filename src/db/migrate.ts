/**
 * Applies every migration in migrations/ that has not run yet.
 * Kysely's migrator takes a lock, so concurrent start-ups apply each migration once.
 */
import type { Kysely } from "kysely"
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
