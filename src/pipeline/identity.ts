/**
 * Who is this lead? Identity keys for dedupe, strongest first.
 *
 * A lead with a stable LinkedIn identity (member URN, Sales Navigator id, public
 * profile slug) is matched only by those: two people with the same name at the same
 * company stay two people. A lead without one (hidden profiles) falls back to name +
 * company, then name + location. Every lead also indexes its name keys, so a later
 * id-less record of the same person still finds it.
 */
import type { Lead } from "../../events/lead.ts"

export interface LeadIdentity {
  /** Keys to look up when deciding whether this lead is already known. */
  readonly match: ReadonlyArray<string>
  /** Keys to remember for this lead (match keys plus its name keys). */
  readonly index: ReadonlyArray<string>
}

/** A name as keys compare it: accents off, lower case, every run of other characters one space. */
export const foldName = (s: string) =>
  // ASCII (most names) folds alike without the Unicode passes: NFKD and the marks leave it as it is.
  /^[\x00-\x7f]*$/.test(s)
    ? s.toLowerCase().replace(/[^a-z0-9]+/g, " ").trim()
    : s.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase().replace(/[^\p{L}\p{N}]+/gu, " ").trim()

/** The profile slug of a linkedin.com/in/<slug> URL, lower-cased and decoded; null otherwise. */
export const profileSlug = (url: string | null): string | null => {
  if (url === null) return null
  const match = /linkedin\.com\/in\/([^/?#]+)/i.exec(url)
  if (!match?.[1]) return null
  try {
    return decodeURIComponent(match[1]).toLowerCase()
  } catch {
    return match[1].toLowerCase()
  }
}

// A lead's stages ask for its identity several times (to look up, to decide, to persist); a
// lead is immutable, so it is worked out once per lead object.
const identities = new WeakMap<Lead, LeadIdentity>()

export const leadIdentity = (lead: Lead): LeadIdentity => {
  let identity = identities.get(lead)
  if (identity === undefined) identities.set(lead, identity = identityOf(lead))
  return identity
}

const identityOf = (lead: Lead): LeadIdentity => {
  const slug = profileSlug(lead.linkedinUrl) ?? lead.publicIdentifier?.toLowerCase() ?? null
  const stable = [
    lead.memberUrn ? `urn:${lead.memberUrn.toLowerCase()}` : null,
    lead.salesNavId ? `snid:${lead.salesNavId}` : null,
    slug ? `in:${slug}` : null
  ].filter((k): k is string => k !== null)
  const name = foldName(lead.fullName || `${lead.firstName} ${lead.lastName}`)
  const company = lead.currentCompany ? foldName(lead.currentCompany) : ""
  const location = lead.location ? foldName(lead.location) : ""
  const names = name === ""
    ? []
    : [
      company ? `nc:${name}|${company}` : null,
      location ? `nl:${name}|${location}` : null
    ].filter((k): k is string => k !== null)
  const fallback = names.slice(0, 1)
  return stable.length > 0
    ? { match: stable, index: [...stable, ...names] }
    : { match: fallback, index: names }
}
