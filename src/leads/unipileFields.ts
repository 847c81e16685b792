/**
 * Lenient reading of Unipile items, shared by the v1 and v2 mappings: any field may be
 * missing, null or of an unexpected type, and every string is cleaned (cleanText) as
 * it is read, so nothing PostgreSQL would reject gets past the adapter.
 */
import type { Lead } from "../../events/lead.ts"
import { cleanText } from "./cleanText.ts"

/** A JSON object as read from a body. */
export type Fields = Readonly<Record<string, unknown>>

/** Is `value` a JSON object (not an array)? */
export const isFields = (value: unknown): value is Fields =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** A non-empty trimmed, cleaned string (numbers as their decimal text), else null. */
export const text = (value: unknown): string | null => {
  if (typeof value === "number" && Number.isFinite(value)) return String(value)
  if (typeof value !== "string") return null
  const cleaned = cleanText(value).trim()
  return cleaned === "" ? null : cleaned
}

/** The slug of a public profile URL (`/in/<slug>`), if it is one. */
export const publicIdentifierOf = (url: string | null): string | null =>
  url === null ? null : /\/in\/([^/?#]+)/.exec(url)?.[1] ?? null

/** A member URN from a URN or a bare member id ("123" becomes "urn:li:member:123"). */
export const memberUrnOf = (value: unknown): string | null => {
  const urn = text(value)
  return urn !== null && /^\d+$/.test(urn) ? `urn:li:member:${urn}` : urn
}

/** First word and the rest, for providers that only give a display name. */
export const splitName = (name: string | null): { readonly first: string; readonly last: string } => {
  const [first = "", ...rest] = name?.split(/\s+/) ?? []
  return { first, last: rest.join(" ") }
}

/** The profile link of an item, sorted into the public `/in/` one and the search-scoped Sales Navigator one. */
export const profileLinks = (profileUrl: string | null, publicUrl: string | null, publicIdentifier: string | null) => {
  const linkedinUrl = publicUrl ?? (profileUrl?.includes("/in/") ? profileUrl : null)
  const slug = publicIdentifier ?? publicIdentifierOf(linkedinUrl)
  return {
    publicIdentifier: slug,
    linkedinUrl: linkedinUrl ?? (slug === null ? null : `https://www.linkedin.com/in/${slug}`),
    salesNavUrl: profileUrl?.includes("/sales/") ? profileUrl : null
  }
}

/** FNV-1a of the stable ids of `leads`, in order; null when fewer than two leads have one. */
export const pageFingerprint = (leads: ReadonlyArray<Lead>): string | null => {
  const ids = leads.flatMap((lead) => {
    const id = lead.salesNavId ?? lead.memberUrn ?? lead.publicIdentifier
    return id === null ? [] : [id]
  })
  if (ids.length < 2) return null
  let hash = 0x811c9dc5
  for (const char of ids.join("\n")) hash = Math.imul(hash ^ char.codePointAt(0)!, 0x01000193)
  return `${ids.length}:${(hash >>> 0).toString(16)}`
}
