/**
 * How many leads an import may take: what was asked, capped to the IMPORT_LEAD
 * credits the caller has available (1 credit per lead). Nothing is available: 402.
 */
export type CapDecision =
  | { readonly _tag: "Accepted"; readonly maxResults: number; readonly wasCapped: boolean }
  | { readonly _tag: "InsufficientCredits"; readonly available: number }

/** `requested` is a positive safe integer (the API guarantees it); `available` any integer. */
export const capToCredits = (requested: number, available: number): CapDecision =>
  available <= 0
    ? { _tag: "InsufficientCredits", available }
    : available < requested
    ? { _tag: "Accepted", maxResults: available, wasCapped: true }
    : { _tag: "Accepted", maxResults: requested, wasCapped: false }
