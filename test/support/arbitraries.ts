/** fast-check generators for domain values, shared by the property tests. */
import fc from "fast-check"
import * as E from "../../events/index.ts"

const id = fc.uuid()
const count = fc.nat({ max: 1_000_000 })
const text = fc.string({ maxLength: 40 })
const nullableText = fc.option(text, { nil: null })

export const lead: fc.Arbitrary<E.Lead> = fc.record({
  salesNavId: nullableText,
  memberUrn: nullableText,
  publicIdentifier: nullableText,
  linkedinUrl: nullableText,
  salesNavUrl: nullableText,
  firstName: text,
  lastName: text,
  fullName: text,
  headline: nullableText,
  currentRole: nullableText,
  currentCompany: nullableText,
  location: nullableText
})

const page = fc.integer({ min: 1, max: 100 })
const completionReason = fc.constantFrom(...E.CompletionReason.literals)

/** One arbitrary per event type, so every member of the union is exercised. */
export const domainEvents: Record<E.EventType, fc.Arbitrary<E.DomainEvent>> = {
  ListCreated: fc.record({ listId: id, userId: id, name: text }).map((f) => new E.ListCreated(f)),
  CreditsGranted: fc.record({ userId: id, amount: fc.integer(), reason: text }).map((f) => new E.CreditsGranted(f)),
  CreditsReserved: fc.record({ userId: id, importId: id, amount: count }).map((f) => new E.CreditsReserved(f)),
  CreditsCharged: fc.record({ userId: id, importId: id, page, amount: count }).map((f) => new E.CreditsCharged(f)),
  CreditsRefunded: fc.record({
    userId: id,
    importId: id,
    amount: count,
    because: fc.oneof(
      fc.record({ outcome: fc.constant("completed" as const), reason: completionReason }),
      fc.record({ outcome: fc.constant("failed" as const), error: text }),
      fc.record({ outcome: fc.constant("canceled" as const) })
    )
  }).map((f) => new E.CreditsRefunded(f)),
  ImportRequested: fc.record({
    importId: id,
    userId: id,
    listId: id,
    accountId: id,
    url: fc.webUrl(),
    requested: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    maxResults: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    wasCapped: fc.boolean(),
    skipExistingCustomers: fc.boolean()
  }).map((f) => new E.ImportRequested(f)),
  ListResolved: fc.record({ importId: id, listId: id, created: fc.boolean() }).map((f) => new E.ListResolved(f)),
  ImportEnqueued: fc.record({ importId: id, runId: text, engine: fc.constantFrom("local" as const, "trigger" as const) })
    .map((f) => new E.ImportEnqueued(f)),
  ImportStarted: fc.record({ importId: id, runId: text }).map((f) => new E.ImportStarted(f)),
  PageFetched: fc.record({
    importId: id,
    page,
    leads: fc.array(lead, { maxLength: 25 }),
    nextCursor: nullableText,
    totalAvailable: fc.option(count, { nil: null })
  }).map((f) => new E.PageFetched(f)),
  LeadsDeduped: fc.record({
    importId: id,
    page,
    decisions: fc.array(fc.record({
      index: fc.nat({ max: 24 }),
      keys: fc.array(text, { maxLength: 4 }),
      outcome: fc.constantFrom("kept" as const, "duplicate" as const, "existing" as const),
      matchedKey: nullableText
    }), { maxLength: 25 }),
    kept: count,
    skippedDuplicate: count,
    skippedExisting: count
  }).map((f) => new E.LeadsDeduped(f)),
  BatchPersisted: fc.record({
    importId: id,
    userId: id,
    listId: id,
    runId: text,
    page,
    rows: fc.array(fc.record({ rowId: id, index: fc.nat({ max: 24 }), lead, keys: fc.array(text, { maxLength: 4 }) }), {
      maxLength: 25
    }),
    overCap: count,
    lateDuplicates: count,
    lateExisting: count
  }).map((f) => new E.BatchPersisted(f)),
  ImportCompleted: fc.record({
    importId: id,
    reason: completionReason,
    leadsImported: count,
    creditsCharged: count,
    creditsRefunded: count
  }).map((f) => new E.ImportCompleted(f)),
  ImportFailed: fc.record({ importId: id, error: text, leadsImported: count, creditsCharged: count, creditsRefunded: count })
    .map((f) => new E.ImportFailed(f)),
  ImportCancelRequested: fc.record({ importId: id, requestedBy: text }).map((f) => new E.ImportCancelRequested(f)),
  ImportCanceled: fc.record({ importId: id, leadsImported: count, creditsCharged: count, creditsRefunded: count })
    .map((f) => new E.ImportCanceled(f))
}

export const domainEvent: fc.Arbitrary<E.DomainEvent> = fc.oneof(...Object.values(domainEvents))
