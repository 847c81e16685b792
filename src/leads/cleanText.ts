/**
 * Text that PostgreSQL can store. Names and headlines come from LinkedIn through the
 * provider and may carry NUL (U+0000) and lone UTF-16 surrogates, both rejected in
 * `text` and `jsonb`; a single bad headline would fail a whole page's append. They are
 * cleaned once, where they enter the system (the lead source adapters).
 */
import type { Lead } from "../../events/lead.ts"

/** A high surrogate not followed by a low one, or a low surrogate not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const LONE_SURROGATES = new RegExp(LONE_SURROGATE, "g")
const NUL = /\u0000/
const NULS = new RegExp(NUL, "g")

/**
 * `text` without NUL characters and with every lone surrogate replaced by U+FFFD.
 * Well-formed text without NUL comes back unchanged; cleaning twice equals cleaning once.
 * Surrogates are repaired before NULs are dropped, so removing a NUL never pairs two
 * lone halves into a character that was never sent.
 */
export const cleanText = (text: string): string => text.replace(LONE_SURROGATES, "\uFFFD").replace(NULS, "")

/** Whether PostgreSQL can store `text` as it is: no NUL, no lone surrogate (cleaning it changes nothing). */
export const isStorableText = (text: string): boolean => !NUL.test(text) && !LONE_SURROGATE.test(text)

/** `lead` with `cleanText` applied to every string field (nulls stay null). */
export const cleanLead = (lead: Lead): Lead => {
  const clean = (value: string | null) => (value === null ? null : cleanText(value))
  return {
    salesNavId: clean(lead.salesNavId),
    memberUrn: clean(lead.memberUrn),
    publicIdentifier: clean(lead.publicIdentifier),
    linkedinUrl: clean(lead.linkedinUrl),
    salesNavUrl: clean(lead.salesNavUrl),
    firstName: cleanText(lead.firstName),
    lastName: cleanText(lead.lastName),
    fullName: cleanText(lead.fullName),
    headline: clean(lead.headline),
    currentRole: clean(lead.currentRole),
    currentCompany: clean(lead.currentCompany),
    location: clean(lead.location)
  }
}
