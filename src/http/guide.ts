/**
 * The words that travel with the OpenAPI document (so /docs, generated clients and AI agents
 * reading the document get them): a quick start, and the seed's guidance for each endpoint —
 * call getSalesNavAccess first, what "No Sales Navigator account found" means, poll the rows or
 * stream progress, warn the human when wasCapped, retry with an Idempotency-Key.
 */

export const QUICK_START = `Imports LinkedIn Sales Navigator people searches into lead lists.

## Quick start

1. **Authenticate** every request with \`Authorization: Bearer <token>\` (an admin issues tokens; in /docs, set it once under Authentication).
2. **Check access first**: \`GET /api/lists/sales-nav-access\`. \`hasSalesNavigator: false\` means the user has not connected a LinkedIn account with Sales Navigator yet — starting an import would answer 400 "No Sales Navigator account found".
3. **Start the import**: \`POST /api/lists/import-sales-nav\` with \`{"url": "https://www.linkedin.com/sales/search/people?query=..."}\` and an \`Idempotency-Key\` header (any unique string per import you mean to start). The answer comes at once with \`runId\` and \`listId\`. If the network fails, send the **same request with the same key** again: you get the first answer back (\`Idempotent-Replayed: true\`), never a second paid import.
4. **Check \`wasCapped\`**: when true, the import was shortened to the credits available (\`maxResults\` says to how many). Tell the human and propose a credit top-up before re-running.
5. **Follow it**: stream \`GET /api/imports/{runId}/stream\` (Server-Sent Events: \`progress\`, \`rows\`, \`end\`; browsers must read it with \`fetch()\`, since \`EventSource\` cannot send the Authorization header; reconnect with \`Last-Event-ID\`), or poll \`GET /api/imports/{runId}\` and \`GET /api/lists/{listId}/rows\`. A few thousand leads take several minutes: LinkedIn serves a page at a time.
6. **Cancel** with \`POST /api/imports/{runId}/cancel\`: the rows imported stay, the unused credits come back.

Every error is \`{"success": false, "error": "<message>", "code": "<CODE>"}\` (400s also name each offending field in \`details\`). On 429 or 503, wait the \`Retry-After\` seconds and retry (with the same Idempotency-Key).`

export const IMPORT_GUIDANCE = `Validates the request, picks the caller's Sales Navigator account, creates or reuses the list, caps maxResults to the caller's IMPORT_LEAD credits (1 per lead) and reserves them, records the request, and hands the import to the sales-nav-import task — answering at once with its runId. Nothing is reserved, created or recorded when the answer is not 200.

**Before calling**: check \`GET /api/lists/sales-nav-access\`. A 400 "No Sales Navigator account found" (code NO_SALES_NAV_ACCOUNT) means the user has not connected a Sales Navigator LinkedIn account yet. A listId must name one of the caller's lists (403 otherwise). A zero balance answers 402.

**After the call**: if \`wasCapped\` is true, warn the human that the import was shortened and propose a credit top-up before re-running. Follow the rows with \`GET /api/imports/{runId}/stream\` or by polling \`GET /api/lists/{listId}/rows\`.

**Retries**: without an Idempotency-Key every call starts a new, paid import — do not re-issue the request on a network error without one; with one, the same key and body answer the first import again.`

export const ACCESS_GUIDANCE = "Call this first: an import needs a connected LinkedIn account with Sales Navigator (otherwise POST /api/lists/import-sales-nav answers 400 \"No Sales Navigator account found\"). The flag is synced from the LinkedIn provider, so it can be a minute stale."

export const ROWS_GUIDANCE = "Poll this while an import runs to see rows appear (oldest first), or stream them with GET /api/imports/{runId}/stream instead of polling."
