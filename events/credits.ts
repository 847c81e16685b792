/**
 * IMPORT_LEAD credits of one user (stream `credits-<userId>`), 1 credit per imported lead.
 * An import reserves its cap up front, is charged per persisted batch for the rows
 * actually inserted, and gets the rest refunded when it ends.
 */
import { Schema } from "effect"
import { ImportOutcome } from "./imports.ts"

const Amount = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

export class CreditsGranted extends Schema.TaggedClass<CreditsGranted>()("CreditsGranted", {
  userId: Schema.String,
  /** Negative to take credits away (admin correction). */
  amount: Schema.Int,
  reason: Schema.String
}) {}

export class CreditsReserved extends Schema.TaggedClass<CreditsReserved>()("CreditsReserved", {
  userId: Schema.String,
  importId: Schema.String,
  amount: Amount
}) {}

export class CreditsCharged extends Schema.TaggedClass<CreditsCharged>()("CreditsCharged", {
  userId: Schema.String,
  importId: Schema.String,
  /** The page whose persisted rows this charge pays for. */
  page: Schema.Int,
  amount: Amount
}) {}

/** Settles an import's reservation: reserved - charged goes back. Exactly one per import. */
export class CreditsRefunded extends Schema.TaggedClass<CreditsRefunded>()("CreditsRefunded", {
  userId: Schema.String,
  importId: Schema.String,
  amount: Amount,
  /** Why the import ended. */
  because: ImportOutcome
}) {}
