/**
 * The local engines' liveness, one row per engine (`local_engines`): an engine renews its own
 * row every third of a lease, instead of the lease of every run it holds (one UPDATE of all of
 * them: ~14 µs a run, ~140 ms every 5 s for 10,000 queued runs). A run it holds says so with a
 * lease that never expires on its own (`infinity`): it is its engine's while that engine's row
 * is alive (src/pipeline/LocalEngine.ts). Engines of the version before still renew timed
 * leases, and never take a run held this way.
 *
 * And `start_import` (migrations/0007) writes the local run already held by the engine of the
 * process that accepted the import (`leaseOwner`; absent, the run is written free, as before):
 * that engine starts it on its in-process signal, with no statement of its own. The function is
 * otherwise 0007's.
 */
import { type Kysely, sql } from "kysely"
import { up as startImportOf0007 } from "./0007_start_import_function.ts"

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table if not exists local_engines (owner text primary key, alive_until timestamptz not null)`.execute(db)
  await sql`
    create or replace function start_import(p jsonb) returns jsonb language plpgsql as $$
    declare
      v_user      uuid := (p->>'userId')::uuid;
      v_import    uuid := (p->>'importId')::uuid;
      v_key       text := p->>'idempotencyKey';
      -- As given (the events carry the caller's spelling, as decideStartImport's do).
      v_list_text text := coalesce(p->>'listId', p->>'newListId');
      v_list      uuid := v_list_text::uuid;
      v_new_list  boolean := p->>'listId' is null;
      v_requested bigint := (p->>'requested')::bigint;
      v_run       text := p->>'runId';
      v_interval  float8 := (p->>'rateIntervalMs')::float8;
      v_tolerance float8 := (p->>'rateToleranceMs')::float8;
      v_ttl       interval := (p->>'keyTtlHours')::int * interval '1 hour';
      -- Recorded times leave the store as JS Dates: the projections see milliseconds.
      v_now       timestamptz := date_trunc('milliseconds', now());
      v_meta      jsonb := jsonb_build_object('correlationId', p->>'importId', 'causationId', p->>'causationId', 'userId', p->>'userId');
      v_found     record;
      v_account   uuid;
      v_available bigint;
      v_version   int;
      v_max       bigint;
      v_capped    boolean;
      v_rejection jsonb;
      v_events    jsonb;
    begin
      if p->>'tokenHash' is not null and not exists (
        select 1 from api_tokens where token_hash = p->>'tokenHash' and user_id = v_user and revoked_at is null
      ) then
        return jsonb_build_object('outcome', 'unauthorized');
      end if;

      -- A retry with its key is answered before anything else (the rate limit included).
      if v_key is not null then
        select k.request_hash, k.import_id, i.list_id, i.run_id, i.max_results, i.was_capped into v_found
          from idempotency_keys k left join imports i on i.import_id = k.import_id
          where k.user_id = v_user and k.key = v_key and k.created_at > now() - v_ttl;
        if found then
          return jsonb_build_object('outcome', 'replay', 'requestHash', v_found.request_hash, 'importId', v_found.import_id,
            'listId', v_found.list_id, 'runId', v_found.run_id, 'maxResults', v_found.max_results, 'wasCapped', v_found.was_capped);
        end if;
      end if;

      -- The GCRA of ImportRateLimit: over the limit writes nothing and says when to come back.
      if v_interval is not null then
        insert into import_rate_limits as r (user_id, tat)
          values (v_user, now() + v_interval * interval '1 millisecond')
          on conflict (user_id) do update set tat = greatest(r.tat, now()) + v_interval * interval '1 millisecond'
            where greatest(r.tat, now()) - now() <= v_tolerance * interval '1 millisecond';
        if not found then
          return jsonb_build_object('outcome', 'rate_limited', 'waitMs',
            (select extract(epoch from (greatest(tat, now()) - now())) * 1000 - v_tolerance from import_rate_limits where user_id = v_user));
        end if;
      end if;

      -- Claimed first, so a request racing with the same key waits here, then finds this one's import.
      if v_key is not null then
        insert into idempotency_keys (user_id, key, request_hash, import_id)
          values (v_user, v_key, p->>'requestHash', v_import)
          on conflict (user_id, key) do update
            set request_hash = excluded.request_hash, import_id = excluded.import_id, created_at = now()
            where idempotency_keys.created_at < now() - v_ttl;
        if not found then
          return jsonb_build_object('outcome', 'key_taken');
        end if;
      end if;

      select id into v_account from linkedin_accounts
        where user_id = v_user and has_sales_navigator order by created_at, id limit 1;
      if v_account is null then
        v_rejection := jsonb_build_object('outcome', 'rejected', 'reason', 'NoSalesNavAccount');
      elsif not v_new_list and not exists (select 1 from lists where id = v_list and user_id = v_user) then
        v_rejection := jsonb_build_object('outcome', 'rejected', 'reason', 'ListForbidden');
      else
        -- The user's credit stream, locked: concurrent imports of one user reserve one at a time,
        -- each on the balance the one before left (the version check below then always holds).
        perform 1 from streams where stream_id = 'credits-' || (p->>'userId') for update;
        select c.version, c.granted - c.charged - c.reserved into v_version, v_available
          from credit_accounts c where c.user_id = v_user;
        v_available := coalesce(v_available, 0);
        -- capToCredits (src/credits/capping.ts).
        if v_available <= 0 then
          v_rejection := jsonb_build_object('outcome', 'rejected', 'reason', 'InsufficientCredits', 'available', v_available);
        end if;
      end if;
      if v_rejection is not null then
        -- Rejected: the key goes back (the rate limit stays taken, as it always has).
        if v_key is not null then
          delete from idempotency_keys where user_id = v_user and key = v_key and import_id = v_import;
        end if;
        return v_rejection;
      end if;
      v_capped := v_available < v_requested;
      v_max := least(v_available, v_requested);

      -- The reservation, with its version check.
      update streams set version = version + 1, updated_at = now()
        where stream_id = 'credits-' || (p->>'userId') and version = v_version;
      if not found then
        raise exception 'start_import: credit stream of % moved', v_user using errcode = '40001';
      end if;

      -- The events, in the order decideStartImport gives them (and ImportEnqueued for a run minted up front).
      v_events := jsonb_build_array(
        jsonb_build_object('id', p->>'importRequestedId', 'stream', 'import-' || (p->>'importId'), 'version', 1, 'type', 'ImportRequested',
          'data', jsonb_build_object('importId', p->>'importId', 'userId', p->>'userId', 'listId', v_list_text, 'accountId', v_account,
            'url', p->>'url', 'requested', v_requested, 'maxResults', v_max, 'wasCapped', v_capped,
            'skipExistingCustomers', (p->>'skipExistingCustomers')::boolean)),
        jsonb_build_object('id', p->>'listResolvedId', 'stream', 'import-' || (p->>'importId'), 'version', 2, 'type', 'ListResolved',
          'data', jsonb_build_object('importId', p->>'importId', 'listId', v_list_text, 'created', v_new_list)),
        jsonb_build_object('id', p->>'creditsReservedId', 'stream', 'credits-' || (p->>'userId'), 'version', v_version + 1, 'type', 'CreditsReserved',
          'data', jsonb_build_object('userId', p->>'userId', 'importId', p->>'importId', 'amount', v_max))
      );
      if v_new_list then
        v_events := jsonb_build_array(jsonb_build_object('id', p->>'listCreatedId', 'stream', 'list-' || v_list_text, 'version', 1,
          'type', 'ListCreated', 'data', jsonb_build_object('listId', v_list_text, 'userId', p->>'userId', 'name', p->>'listName'))) || v_events;
        insert into streams (stream_id, version) values ('list-' || v_list_text, 1);
      end if;
      if v_run is not null then
        v_events := v_events || jsonb_build_array(jsonb_build_object('id', p->>'importEnqueuedId', 'stream', 'import-' || (p->>'importId'),
          'version', 3, 'type', 'ImportEnqueued', 'meta', jsonb_build_object('correlationId', p->>'importId', 'userId', p->>'userId'),
          'data', jsonb_build_object('importId', p->>'importId', 'runId', v_run, 'engine', p->>'engine')));
      end if;
      insert into streams (stream_id, version) values ('import-' || (p->>'importId'), case when v_run is null then 2 else 3 end);
      insert into events (event_id, stream_id, version, type, schema_version, data, metadata, correlation_id, causation_id, user_id)
        select (e->>'id')::uuid, e->>'stream', (e->>'version')::int, e->>'type', (p->'schemaVersions'->>(e->>'type'))::int,
               e->'data', coalesce(e->'meta', v_meta), p->>'importId', coalesce(e->'meta', v_meta)->>'causationId', p->>'userId'
        from jsonb_array_elements(v_events) with ordinality as x(e, ord) order by ord;

      -- The inline projections' rows (projections/lists.ts, import-progress.ts, credits.ts).
      if v_new_list then
        insert into lists (id, user_id, name, created_at) values (v_list, v_user, p->>'listName', v_now) on conflict (id) do nothing;
      end if;
      insert into imports (import_id, user_id, list_id, url, requested, max_results, was_capped, skip_existing_customers,
                           created_at, status, updated_at, credits_reserved, run_id, engine)
        values (v_import, v_user, v_list, p->>'url', v_requested, v_max, v_capped, (p->>'skipExistingCustomers')::boolean,
                v_now, 'queued', v_now, v_max, v_run, case when v_run is null then null else p->>'engine' end)
        on conflict (import_id) do nothing;
      update credit_accounts set version = v_version + 1, reserved = reserved + v_max where user_id = v_user;
      insert into credit_holds (import_id, user_id, reserved) values (v_import, v_user, v_max);

      insert into outbox (import_id, user_id, account_id, run_id, dispatched_at)
        values (v_import, v_user, v_account, v_run, case when v_run is null then null else now() end);
      if v_run is not null then
        -- Leased at birth to the engine of the process that accepted the import, if one runs there:
        -- it starts the run on its in-process signal, with no statement of its own to take it.
        insert into local_runs (run_id, import_id, account_id, status, lease_owner, lease_expires_at)
          values (v_run, v_import, v_account, 'pending', p->>'leaseOwner',
                  case when p->>'leaseOwner' is null then null else 'infinity'::timestamptz end);
      end if;
      return jsonb_build_object('outcome', 'started', 'listId', v_list_text, 'accountId', v_account,
        'maxResults', v_max, 'wasCapped', v_capped, 'runId', v_run);
    end $$`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await startImportOf0007(db)
  await sql`drop table if exists local_engines`.execute(db)
}
