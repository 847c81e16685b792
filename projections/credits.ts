/**
 * credit_accounts and credit_holds: each user's IMPORT_LEAD credits, and what each
 * import holds of them. Inline, so the API reads its own writes.
 *
 *   balance   = granted - charged
 *   reserved  = held by imports that have not settled (reserved - charged - refunded)
 *   available = balance - reserved
 *
 * Stated over the log and set-based: the events are summed per account and per hold in SQL,
 * and written with one statement, however many events.
 */
import { type RawBuilder, sql } from "kysely"
import { type LogEvents, overLog, type Writes } from "../src/eventstore/Projection.ts"

const handles = ["CreditsGranted", "CreditsReserved", "CreditsCharged", "CreditsRefunded"]
const amount = sql`(e.data->>'amount')::bigint`
const sumOf = (types: ReadonlyArray<string>): RawBuilder<unknown> =>
  sql`coalesce(sum(${amount}) filter (where e.type in (${sql.join(types)})), 0)`

/** Per import: what the events charge and refund on its hold. */
const settled = (events: LogEvents) =>
  sql`select (e.data->>'importId')::uuid as import_id, ${sumOf(["CreditsCharged"])} as charged,
      ${sumOf(["CreditsRefunded"])} as refunded
    from ${events("CreditsCharged", "CreditsRefunded")} e group by 1`

// One step for the three changes (distinct rows), so one round trip per append. A hold reserved by
// these events is inserted with what they settle on it; the update settles the holds reserved
// before (it cannot see the rows this statement inserts). A stream's events come in version
// order: the last is the version the account reflects.
const fromLog = (events: LogEvents): Writes => [[
  sql`insert into credit_accounts (user_id, version, granted, charged, reserved)
    select (e.data->>'userId')::uuid, max(e.version), ${sumOf(["CreditsGranted"])}, ${sumOf(["CreditsCharged"])},
      ${sumOf(["CreditsReserved"])} - ${sumOf(["CreditsCharged", "CreditsRefunded"])}
    from ${events(...handles)} e group by 1
    on conflict (user_id) do update set
      version = excluded.version,
      granted = credit_accounts.granted + excluded.granted,
      charged = credit_accounts.charged + excluded.charged,
      reserved = credit_accounts.reserved + excluded.reserved`,
  sql`insert into credit_holds (import_id, user_id, reserved, charged, refunded)
    select (e.data->>'importId')::uuid, (e.data->>'userId')::uuid, ${amount}, coalesce(s.charged, 0), coalesce(s.refunded, 0)
    from ${events("CreditsReserved")} e left join (${settled(events)}) s on s.import_id = (e.data->>'importId')::uuid
    order by e.position`,
  sql`update credit_holds set charged = credit_holds.charged + s.charged, refunded = credit_holds.refunded + s.refunded
    from (${settled(events)}) s where credit_holds.import_id = s.import_id`
]]

export const creditsProjection = overLog({
  name: "credits",
  handles,
  tables: ["credit_accounts", "credit_holds"],
  fromLog
})
