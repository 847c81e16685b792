/**
 * Paging that is checked, not trusted. Page n of a search starts at result (n-1)*25;
 * when Unipile answers a page from anywhere else (it restarted the search, served a
 * page twice, or skipped ahead), carrying on would spend LinkedIn page views, which
 * are scarce per account, on people already imported, or silently lose some. Both
 * adapters stop with one of these permanent errors instead (and with `notPeople` when
 * the URL turns out to search companies).
 */
import { PAGE_SIZE } from "./LeadSource.ts"
import { permanent } from "./unipileErrors.ts"

/** How continuations made by the v2 adapter start (the v1 adapter refuses them by it). */
export const V2_CURSOR_PREFIX = "unipile-v2."

/** Where page `page` (1-based) of a search starts. */
export const expectedOffset = (page: number): number => (page - 1) * PAGE_SIZE

const STOPPED = "The import stopped here instead of spending LinkedIn page views on people it already has and " +
  "importing them twice; the leads imported so far are kept. Start a new import to try the search again."

/** The provider served results the import already had: it restarted the search or repeated a page. */
export const pageRepeated = (page: number, what: string) =>
  permanent("page_repeated", `Unipile ${what} when asked for page ${page}: the provider restarted the search or repeated a page. ${STOPPED}`)

/** The provider's paging does not line up with the page asked for. */
export const pagingMismatch = (page: number, what: string) =>
  permanent("paging_mismatch", `Unipile's paging does not match page ${page}: ${what}. ${STOPPED}`)

/** A cursor this adapter cannot continue from. */
export const invalidCursor = (page: number, why: string) =>
  permanent(
    "invalid_cursor",
    `The continuation for page ${page} cannot be used: ${why}. If UNIPILE_API_VERSION changed while the import was ` +
      "running, start a new import."
  )

/** The URL finds companies or accounts, not people. */
export const notPeople = (what: string | null) =>
  permanent(
    "not_a_people_search",
    `The URL returns ${what ?? "non-people"} results, not people. Import a Sales Navigator people search ` +
      "(linkedin.com/sales/search/people?...) or a lead list (linkedin.com/sales/lists/people/...) instead."
  )
