/**
 * The reconciler's index of active imports, keyed by when an import was created instead of when it
 * last moved. Every page an import records updates its row (the `import-progress` counters and
 * `updated_at`), and an update that changes an indexed column cannot be HOT: PostgreSQL writes a
 * new version of the row into every index of `imports` (four) and leaves the old one for vacuum.
 * Keyed by `updated_at`, three of an import's four updates a page were such updates; keyed by
 * `created_at`, which never changes, they stay on the row's page and touch no index
 * (test/db/hot-updates.int). 80 imports of 2,500 leads, four runs of 20: the updates HOT 25 → 99 %, the
 * table 712–729 → 74–115 KB, its dead rows ~24,300 → ~300.
 *
 * The reconciler still reads only active imports (the index's predicate); it filters them by
 * `updated_at` and sorts them, as many rows as imports are running.
 */
import { type Kysely, sql } from "kysely"

export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists imports_active`.execute(db)
  await sql`create index imports_active on imports (created_at) where status in ('queued', 'running')`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists imports_active`.execute(db)
  await sql`create index imports_active on imports (updated_at) where status in ('queued', 'running')`.execute(db)
}
