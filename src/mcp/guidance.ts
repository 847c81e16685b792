/**
 * The words an agent reads: the server's instructions and each tool's description. They carry
 * the seed's agent guidance — call getSalesNavAccess first, what "No Sales Navigator account
 * found" means, warn the human when wasCapped and propose a top-up, never re-issue an import on
 * a retry but surface the original runId, poll the rows — said for tools instead of endpoints.
 */

export const SERVER_INSTRUCTIONS = `Imports LinkedIn Sales Navigator people searches into the user's lead lists. Costs 1 IMPORT_LEAD credit per lead imported.

Workflow:
1. get_sales_nav_access first: without a connected Sales Navigator account an import fails with NO_SALES_NAV_ACCOUNT ("No Sales Navigator account found") — ask the human to connect one.
2. import_sales_nav with the people search URL: it answers at once with a runId and a listId. Give the human the runId. If wasCapped is true, tell the human (tellTheHuman says what) and propose a credit top-up before re-running.
3. Follow it with get_import every few seconds until status is completed, failed or canceled; repeat its summary to the human. Read the leads with list_rows.

A retried import_sales_nav call is safe: it answers with the first call's runId and never starts or pays for a second import. Never call it again to check on an import (use get_import). Errors come back as tool errors: {code, error, hint}.`

export const ACCESS_DESCRIPTION = `Call this first, before import_sales_nav: does the user have a connected LinkedIn account with Sales Navigator? If hasSalesNavigator is false, an import fails with NO_SALES_NAV_ACCOUNT ("No Sales Navigator account found"): ask the human to connect a Sales Navigator LinkedIn account first. The flag is synced from the LinkedIn provider, so it can be a minute stale.`

export const IMPORT_DESCRIPTION = `Start a background import of a LinkedIn Sales Navigator people search (or a Sales Navigator lead list) into a lead list. Answers at once with runId and listId; the leads arrive over the next minutes.

Before calling: call get_sales_nav_access (no Sales Navigator account: NO_SALES_NAV_ACCOUNT). Only people searches (/sales/search/people?query=..., a saved or recent search) and lead lists (/sales/lists/people/<id>) are accepted; company and account URLs fail with INVALID_SALES_NAV_URL. A listId must be one of the user's lists (LIST_FORBIDDEN otherwise); without one a new list is created (listName, default "Sales Nav Import - mm/dd/yyyy").

Cost: 1 IMPORT_LEAD credit per lead imported. The import is capped to the credits available (none: INSUFFICIENT_CREDITS); duplicates and existing customers skipped cost nothing, and unused credits are refunded when it ends.

After the call: give the human the runId. If wasCapped is true, warn the human that the import was shortened (tellTheHuman says how) and propose a credit top-up before re-running. Follow it with get_import (or list_rows).

Retries are safe: every call sends an idempotency key — yours, or one derived from the user and these arguments — so the same call again (a timeout, a lost connection) answers with the first import (replayed: true, the same runId) and never starts or pays for a second one. Do not call it again to check on an import: use get_import. To start a second import with the same arguments on purpose (say, after a top-up), pass an idempotencyKey you have not used before. A key answers for 24 hours; after that the same arguments start a new import.`

export const IDEMPOTENCY_KEY_DESCRIPTION =
  "Optional. Calls with the same key and arguments answer with the first call's import for 24 hours; without it the tool derives a key from the user and the arguments. Pass a new key to start a deliberate second import with the same arguments. The same key with other arguments fails with IDEMPOTENCY_KEY_REUSED."

export const GET_IMPORT_DESCRIPTION = `Status and counters of one import (by the runId import_sales_nav returned), with summary: one line to repeat to the human. status is queued, running, completed, failed or canceled; poll every few seconds until it is one of the last three. leadsFetched = leadsImported + skippedDuplicate + skippedExisting + overCap; creditsCharged = leadsImported; creditsRefunded = creditsReserved - creditsCharged once it has ended. completionReason says why it ended (cap_reached, search_exhausted, reachable_limit: Sales Navigator shows 2,500 results per search, upstream_truncated: LinkedIn stopped early, canceled); error says why it failed. The import's story, page by page, is the resource sales-nav-import://imports/{runId}/timeline. A runId that is not one of the user's imports fails with IMPORT_NOT_FOUND.`

export const LIST_IMPORTS_DESCRIPTION =
  "The user's imports, newest first, each with its status, counters and a one-line summary; filter by status, page with limit and offset. Use it to find the runId of an import the human talks about."

export const LIST_ROWS_DESCRIPTION =
  "The leads of one of the user's lists, oldest first, a page at a time (limit 1-500, default 100; offset). Poll it while an import runs to see the rows appear; hasMore says whether another page follows. A list that is not the user's (or does not exist) fails with LIST_FORBIDDEN."

export const CANCEL_DESCRIPTION =
  "Cancel a queued or running import: it stops after the page in flight, the leads already imported stay in the list, and the credits it has not used are refunded, once. Ask the human before cancelling. An import that has already ended fails with IMPORT_ENDED; a runId that is not the user's, with IMPORT_NOT_FOUND."

export const CREDITS_DESCRIPTION =
  "The user's IMPORT_LEAD credits: balance, reserved (held by imports that have not ended) and available (balance - reserved: what the next import can use, 1 credit per lead imported)."

export const TIMELINE_DESCRIPTION =
  "What happened in one import, one line per event in order: the request, each page fetched, deduplicated and added to the list, each credit reserved, charged and refunded, and how it ended. Read it to explain to the human why an import has fewer leads than asked, or where it stopped."
