/**
 * The dedupe decision for one page, as a pure function of the page's leads and the
 * keys already known: in this list, seen earlier in this import, in the user's other
 * lists. A lead is a duplicate when one of its keys was seen in this import (an
 * earlier page or earlier on this page) or is in this list; it is an existing
 * customer when `skipExistingCustomers` and one of its keys is in another list;
 * otherwise it is kept.
 */
import type { DedupeDecision } from "../../events/imports.ts"
import type { Lead } from "../../events/lead.ts"
import { leadIdentity } from "./identity.ts"

export interface KnownKeys {
  readonly inThisList: ReadonlySet<string>
  readonly seenInImport: ReadonlySet<string>
  readonly inOtherLists: ReadonlySet<string>
}

export interface DedupeOutcome {
  readonly decisions: ReadonlyArray<DedupeDecision>
  readonly kept: number
  readonly skippedDuplicate: number
  readonly skippedExisting: number
}

/** Every key the page's leads can be matched by: what to look up. */
export const matchKeysOf = (leads: ReadonlyArray<Lead>): ReadonlyArray<string> => [
  ...new Set(leads.flatMap((lead) => leadIdentity(lead).match))
]

export const decideDedupe = (
  leads: ReadonlyArray<Lead>,
  known: KnownKeys,
  skipExistingCustomers: boolean
): DedupeOutcome => {
  const seenOnPage = new Set<string>()
  const decisions = leads.map((lead, index): DedupeDecision => {
    const { match, index: keys } = leadIdentity(lead)
    const duplicate = match.find((k) => seenOnPage.has(k) || known.seenInImport.has(k) || known.inThisList.has(k))
    const existing = skipExistingCustomers ? match.find((k) => known.inOtherLists.has(k)) : undefined
    for (const k of keys) seenOnPage.add(k)
    return duplicate !== undefined
      ? { index, keys, outcome: "duplicate", matchedKey: duplicate }
      : existing !== undefined
      ? { index, keys, outcome: "existing", matchedKey: existing }
      : { index, keys, outcome: "kept", matchedKey: null }
  })
  const count = (outcome: DedupeDecision["outcome"]) => decisions.filter((d) => d.outcome === outcome).length
  return { decisions, kept: count("kept"), skippedDuplicate: count("duplicate"), skippedExisting: count("existing") }
}
