/**
 * Accounts (plain tables: users, API tokens, LinkedIn accounts), the outbox and the
 * local engine's run table, and the read models the projections maintain.
 */
import { type Kysely, sql } from "kysely"

export async function up(db: Kysely<any>): Promise<void> {
  const statements = [
    sql`create table users (
      id uuid primary key,
      email text not null unique,
      created_at timestamptz not null default now()
    )`,
    // Only the SHA-256 of a token is stored; the token itself is shown once.
    sql`create table api_tokens (
      token_hash text primary key,
      user_id uuid not null references users (id) on delete cascade,
      created_at timestamptz not null default now()
    )`,
    sql`create index api_tokens_user on api_tokens (user_id)`,
    sql`create table linkedin_accounts (
      id uuid primary key,
      user_id uuid not null references users (id) on delete cascade,
      name text not null,
      provider_account_id text,
      has_sales_navigator boolean not null,
      created_at timestamptz not null default now()
    )`,
    sql`create index linkedin_accounts_user on linkedin_accounts (user_id, created_at)`,

    // Enqueue requests written in the command's transaction, dispatched after commit.
    sql`create table outbox (
      import_id uuid primary key,
      user_id uuid not null,
      account_id uuid not null,
      created_at timestamptz not null default now(),
      dispatched_at timestamptz,
      run_id text,
      attempts integer not null default 0,
      last_error text
    )`,
    sql`create index outbox_pending on outbox (created_at) where dispatched_at is null`,
    // Runs of the in-process engine: what to resume after a restart.
    sql`create table local_runs (
      run_id text primary key,
      import_id uuid not null unique,
      account_id uuid not null,
      status text not null check (status in ('pending', 'done')),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`,
    sql`create index local_runs_pending on local_runs (created_at) where status = 'pending'`,

    // --- read models (projections/) ---
    sql`create table lists (
      id uuid primary key,
      user_id uuid not null,
      name text not null,
      row_count integer not null default 0,
      created_at timestamptz not null
    )`,
    sql`create index lists_user on lists (user_id, created_at)`,
    sql`create table credit_accounts (
      user_id uuid primary key,
      version integer not null,
      granted bigint not null default 0,
      charged bigint not null default 0,
      reserved bigint not null default 0
    )`,
    sql`create table credit_holds (
      import_id uuid primary key,
      user_id uuid not null,
      reserved bigint not null,
      charged bigint not null default 0,
      refunded bigint not null default 0,
      check (charged + refunded <= reserved)
    )`,
    sql`create table list_rows (
      id uuid primary key,
      seq bigint generated always as identity,
      list_id uuid not null,
      user_id uuid not null,
      import_id uuid not null,
      run_id text not null,
      linkedin_url text,
      sales_nav_url text,
      profile jsonb not null,
      added_at timestamptz not null
    )`,
    sql`create index list_rows_by_list on list_rows (list_id, seq)`,
    // Identity keys of every lead in a user's lists: the dedupe lookup.
    sql`create table lead_keys (
      user_id uuid not null,
      key text not null,
      list_id uuid not null,
      row_id uuid not null,
      primary key (user_id, key, list_id)
    )`,
    // Identity keys seen by one import (kept or skipped): duplicates across overlapping pages.
    sql`create table import_seen_keys (
      import_id uuid not null,
      key text not null,
      primary key (import_id, key)
    )`,
    sql`create table imports (
      import_id uuid primary key,
      user_id uuid not null,
      list_id uuid not null,
      run_id text unique,
      engine text,
      status text not null check (status in ('queued', 'running', 'completed', 'failed', 'canceled')),
      url text not null,
      requested bigint not null,
      max_results bigint not null,
      was_capped boolean not null,
      skip_existing_customers boolean not null,
      total_available integer,
      pages_fetched integer not null default 0,
      leads_fetched integer not null default 0,
      leads_imported integer not null default 0,
      skipped_existing integer not null default 0,
      skipped_duplicate integer not null default 0,
      over_cap integer not null default 0,
      credits_reserved bigint not null default 0,
      credits_charged bigint not null default 0,
      credits_refunded bigint not null default 0,
      completion_reason text,
      error text,
      created_at timestamptz not null,
      updated_at timestamptz not null
    )`,
    sql`create index imports_user on imports (user_id, created_at)`
  ]
  for (const statement of statements) await statement.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  for (
    const table of [
      "imports",
      "import_seen_keys",
      "lead_keys",
      "list_rows",
      "credit_holds",
      "credit_accounts",
      "lists",
      "local_runs",
      "outbox",
      "linkedin_accounts",
      "api_tokens",
      "users"
    ]
  ) await sql`drop table ${sql.table(table)}`.execute(db)
}
