/** Every migration, in order. Never edit one that has landed: add the next. */
import type { Migration } from "kysely/migration"
import * as m0001 from "./0001_event_store.ts"
import * as m0002 from "./0002_accounts_and_read_models.ts"
import * as m0003 from "./0003_import_lifecycle.ts"
import * as m0004 from "./0004_tokens_and_rate_limits.ts"
import * as m0005 from "./0005_idempotency_keys.ts"
import * as m0006 from "./0006_support.ts"
import * as m0007 from "./0007_start_import_function.ts"
import * as m0008 from "./0008_import_lock_and_check.ts"
import * as m0009 from "./0009_import_lock_and_check_probes.ts"
import * as m0010 from "./0010_events_data_lz4.ts"
import * as m0011 from "./0011_local_engine_heartbeats.ts"
import * as m0012 from "./0012_drop_unread_event_indexes.ts"
import * as m0013 from "./0013_import_lock_check_and_look_up.ts"
import * as m0014 from "./0014_imports_active_by_age.ts"

export const migrations: Record<string, Migration> = {
  "0001_event_store": m0001,
  "0002_accounts_and_read_models": m0002,
  "0003_import_lifecycle": m0003,
  "0004_tokens_and_rate_limits": m0004,
  "0005_idempotency_keys": m0005,
  "0006_support": m0006,
  "0007_start_import_function": m0007,
  "0008_import_lock_and_check": m0008,
  "0009_import_lock_and_check_probes": m0009,
  "0010_events_data_lz4": m0010,
  "0011_local_engine_heartbeats": m0011,
  "0012_drop_unread_event_indexes": m0012,
  "0013_import_lock_check_and_look_up": m0013,
  "0014_imports_active_by_age": m0014
}
