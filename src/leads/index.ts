/**
 * The lead source the application runs with, chosen by LEAD_SOURCE: `fake` (default,
 * configured by FAKE_*) or `unipile` (needs UNIPILE_DSN and UNIPILE_API_KEY, speaks
 * Unipile's API v2 unless UNIPILE_API_VERSION=v1; start-up fails with a ConfigError
 * naming the missing or wrong variable).
 */
import { Config, Effect, Layer } from "effect"
import { FakeLeadSource } from "./FakeLeadSource.ts"
import type { LeadSource } from "./LeadSource.ts"
import { UnipileLeadSource } from "./UnipileLeadSource.ts"

export * from "./LeadSource.ts"
export { cleanLead, cleanText } from "./cleanText.ts"
export { FakeLeadSource, fakeSearchPeople, makeFakeLeadSource } from "./FakeLeadSource.ts"
export type { FakeLeadSourceOptions } from "./FakeLeadSource.ts"
export { makeUnipileLeadSource, UnipileLeadSource, unipileOptionsConfig } from "./UnipileLeadSource.ts"
export type { UnipileApiVersion, UnipileOptions } from "./UnipileLeadSource.ts"
export { BACKOFF_JITTER, MAX_BACKOFF_MS, RATE_LIMIT_BACKOFF_MS, SERVER_ERROR_BACKOFF_MS } from "./unipileBackoff.ts"
export { unipileErrorTable } from "./unipileErrors.ts"
export type { UnipileErrorRule } from "./unipileErrors.ts"

/** Which implementation LEAD_SOURCE selects. */
export const leadSourceKindConfig = Config.Literals(["fake", "unipile"], "LEAD_SOURCE").pipe(Config.withDefault("fake"))

/** `LeadSource` as configured by LEAD_SOURCE. */
export const LeadSourceLive: Layer.Layer<LeadSource, Config.ConfigError> = Layer.unwrap(
  Effect.map(leadSourceKindConfig, (kind) => kind === "unipile" ? UnipileLeadSource.layerConfig : FakeLeadSource.layerConfig)
)
