/** A person as a lead source returns them: the payload of PageFetched and of list rows. */
import { Schema } from "effect"

export const Lead = Schema.Struct({
  /** Sales Navigator's id for the person ("ACwAA..."), stable across searches. */
  salesNavId: Schema.NullOr(Schema.String),
  /** LinkedIn member URN ("urn:li:member:123"), stable. */
  memberUrn: Schema.NullOr(Schema.String),
  publicIdentifier: Schema.NullOr(Schema.String),
  linkedinUrl: Schema.NullOr(Schema.String),
  /** Search-scoped link into Sales Navigator: shown, never used as a key. */
  salesNavUrl: Schema.NullOr(Schema.String),
  firstName: Schema.String,
  lastName: Schema.String,
  fullName: Schema.String,
  headline: Schema.NullOr(Schema.String),
  currentRole: Schema.NullOr(Schema.String),
  currentCompany: Schema.NullOr(Schema.String),
  location: Schema.NullOr(Schema.String)
})
export type Lead = typeof Lead.Type

/** What a list row shows of a lead (its `profileData`): names, headline, role, company, location. */
export const profileOf = (lead: Lead) => ({
  firstName: lead.firstName,
  lastName: lead.lastName,
  fullName: lead.fullName,
  headline: lead.headline,
  currentRole: lead.currentRole,
  currentCompany: lead.currentCompany,
  location: lead.location
})
