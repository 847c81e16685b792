/**
 * Table types for Kysely. Row types stay here: they are never reused as event or
 * API types (those live in events/ and the HTTP API).
 */
import type { ColumnType, Generated } from "kysely"

type Json = ColumnType<unknown, unknown, unknown>
type CreatedAt = ColumnType<Date, Date | string | undefined, Date | string>

export interface StreamsTable {
  stream_id: string
  category: Generated<string>
  version: number
  created_at: CreatedAt
  updated_at: CreatedAt
}

export interface EventsTable {
  position: Generated<number>
  transaction_id: Generated<string>
  event_id: string
  stream_id: string
  category: Generated<string>
  version: number
  type: string
  schema_version: number
  data: Json
  metadata: Json
  correlation_id: string | null
  causation_id: string | null
  user_id: string | null
  recorded_at: CreatedAt
}

export interface ProjectionCheckpointsTable {
  name: string
  transaction_id: ColumnType<string, string | undefined, string>
  position: ColumnType<number, number | undefined, number>
  updated_at: CreatedAt
}

/** Each projection's live generation and the blue/green rebuild in progress (src/eventstore/rebuild.ts). */
export interface ProjectionVersionsTable {
  name: string
  version: Generated<number>
  building: number | null
  applied_snapshot: string | null
  target_snapshot: string | null
  cursor: Generated<number>
  processed: Generated<number>
  total: Generated<number>
  migration: string | null
  started_at: Date | null
  lease_owner: string | null
  lease_expires_at: Date | null
  rate_since: Date | null
  rate_processed: Generated<number>
  updated_at: CreatedAt
}

export interface UsersTable {
  id: string
  email: string
  created_at: CreatedAt
}

export interface ApiTokensTable {
  id: string
  token_hash: string
  user_id: string
  created_at: CreatedAt
  revoked_at: Date | null
}

export interface IdempotencyKeysTable {
  user_id: string
  key: string
  request_hash: string
  import_id: string
  created_at: CreatedAt
}

export interface ImportRateLimitsTable {
  user_id: string
  tat: Date
}

export interface LinkedinAccountsTable {
  id: string
  user_id: string
  name: string
  provider_account_id: string | null
  has_sales_navigator: boolean
  created_at: CreatedAt
}

export interface OutboxTable {
  import_id: string
  user_id: string
  account_id: string
  created_at: CreatedAt
  dispatched_at: Date | null
  run_id: string | null
  attempts: Generated<number>
  last_error: string | null
}

export interface LocalRunsTable {
  run_id: string
  import_id: string
  account_id: string
  status: "pending" | "done"
  lease_owner: string | null
  lease_expires_at: Date | null
  takeovers: Generated<number>
  created_at: CreatedAt
  updated_at: CreatedAt
}

export interface ListsTable {
  id: string
  user_id: string
  name: string
  row_count: Generated<number>
  created_at: CreatedAt
}

export interface CreditAccountsTable {
  user_id: string
  version: number
  granted: Generated<number>
  charged: Generated<number>
  reserved: Generated<number>
}

export interface CreditHoldsTable {
  import_id: string
  user_id: string
  reserved: number
  charged: Generated<number>
  refunded: Generated<number>
}

export interface ListRowsTable {
  id: string
  seq: Generated<number>
  list_id: string
  user_id: string
  import_id: string
  run_id: string
  linkedin_url: string | null
  sales_nav_url: string | null
  profile: Json
  added_at: CreatedAt
}

export interface LeadKeysTable {
  user_id: string
  key: string
  list_id: string
  row_id: string
}

export interface ImportSeenKeysTable {
  import_id: string
  key: string
}

export type ImportStatus = "queued" | "running" | "completed" | "failed" | "canceled"

export interface ImportsTable {
  import_id: string
  user_id: string
  list_id: string
  run_id: string | null
  engine: string | null
  status: ImportStatus
  url: string
  requested: number
  max_results: number
  was_capped: boolean
  skip_existing_customers: boolean
  total_available: number | null
  pages_fetched: Generated<number>
  leads_fetched: Generated<number>
  leads_imported: Generated<number>
  skipped_existing: Generated<number>
  skipped_duplicate: Generated<number>
  over_cap: Generated<number>
  credits_reserved: Generated<number>
  credits_charged: Generated<number>
  credits_refunded: Generated<number>
  completion_reason: string | null
  error: string | null
  cancel_requested: Generated<boolean>
  created_at: CreatedAt
  updated_at: CreatedAt
}

export interface DB {
  streams: StreamsTable
  events: EventsTable
  projection_checkpoints: ProjectionCheckpointsTable
  projection_versions: ProjectionVersionsTable
  users: UsersTable
  api_tokens: ApiTokensTable
  import_rate_limits: ImportRateLimitsTable
  idempotency_keys: IdempotencyKeysTable
  linkedin_accounts: LinkedinAccountsTable
  outbox: OutboxTable
  local_runs: LocalRunsTable
  lists: ListsTable
  credit_accounts: CreditAccountsTable
  credit_holds: CreditHoldsTable
  list_rows: ListRowsTable
  lead_keys: LeadKeysTable
  import_seen_keys: ImportSeenKeysTable
  imports: ImportsTable
}
