/** Every migration, in order. Never edit one that has landed: add the next. */
import type { Migration } from "kysely/migration"
import * as m0001 from "./0001_event_store.ts"
import * as m0002 from "./0002_accounts_and_read_models.ts"

export const migrations: Record<string, Migration> = {
  "0001_event_store": m0001,
  "0002_accounts_and_read_models": m0002
}
