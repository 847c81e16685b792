/**
 * The console in headless Chromium against the real service on a real socket (both backends):
 * a token pasted into the page; an import started from the form whose bar climbs to 100 %,
 * ending with exactly the list's rows; a slow import whose bar and rows move live (fed by its
 * stream) and that is canceled from the page; the whole path done with the keyboard alone; the
 * token's life; the support view (another user's import by run id, every page of its timeline;
 * a user's token refused in place); and no sideways scroll at 360 px. Every page is also checked for script errors and Content-Security-Policy
 * violations. Screenshots go to test-artifacts/console/ (not committed).
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { join } from "node:path"
import type { Page } from "playwright-core"
import { ARTIFACTS, Browser, newPage, type PageProblems, skipWithoutChromium } from "../support/browser.ts"
import { makeUser } from "../support/fixtures.ts"
import { allRows, awaitImport, type ImportStatusBody, startImport } from "../support/imports.ts"
import { ADMIN_TOKEN, call, client, SUPPORT_TOKEN, TestApp } from "../support/server.ts"

const search = (extra: string) => `https://www.linkedin.com/sales/search/people?query=(console-${crypto.randomUUID().slice(0, 8)})${extra}`

const WAIT = { timeout: 60_000 }

const count = (n: number) => n.toLocaleString("en-US")

const signIn = async (page: Page, baseUrl: string, token: string) => {
  await page.goto(`${baseUrl}/console`)
  await page.getByLabel("API token", { exact: true }).fill(token)
  await page.getByRole("button", { name: "Use token" }).click()
  await page.locator("#signed-in").waitFor({ state: "visible", ...WAIT })
}

/** Fills the form, starts the import and returns its run id, as the page reports it. */
const startFromPage = async (page: Page, fields: { readonly url: string; readonly max: string; readonly listName: string }) => {
  await page.getByLabel("Sales Navigator people search URL").fill(fields.url)
  await page.getByLabel("Maximum leads").fill(fields.max)
  await page.getByLabel("Name of the new list").fill(fields.listName)
  await page.getByRole("button", { name: "Start import" }).click()
  return runIdShown(page)
}

const runIdShown = async (page: Page) => {
  const started = await page.locator("#import-result .ok").textContent(WAIT)
  return /\(run (run_[A-Za-z0-9]+)\)/.exec(started ?? "")![1]!
}

/** Records every value each import's bar takes, and every row count the rows table reaches. */
const recordProgress = (page: Page) =>
  page.evaluate(() => {
    const w = window as any
    w.__bars = {} as Record<string, Array<number>>
    w.__rowCounts = [] as Array<number>
    new MutationObserver((records) => {
      for (const record of records) {
        const bar = record.target as HTMLProgressElement
        const runId = (bar.closest("[data-run-id]") as HTMLElement).dataset.runId!
        ;(w.__bars[runId] ??= []).push(bar.value)
      }
    }).observe(document.getElementById("imports")!, { attributes: true, attributeFilter: ["value"], subtree: true })
    const body = document.getElementById("rows-body")!
    new MutationObserver(() => w.__rowCounts.push(body.children.length)).observe(body, { childList: true })
  })

const recorded = (page: Page) =>
  page.evaluate(() => ({ bars: (window as any).__bars as Record<string, Array<number>>, rowCounts: (window as any).__rowCounts as Array<number> }))

/** Waits until the element with this id shows exactly this text. */
const textBecomes = (page: Page, id: string, text: string) =>
  call(() => page.waitForFunction(([id, text]) => document.getElementById(id)?.textContent === text, [id, text] as const, WAIT))

const apiGet = (token: string, path: string) => Effect.flatMap(client, (api) => call(() => api.request("GET", path, { token })))

/** Neither a script error nor a blocked resource on the page. */
const expectNoProblems = (problems: PageProblems) =>
  Effect.gen(function*() {
    expect(problems.errors).toEqual([])
    expect(yield* call(() => problems.violations())).toEqual([])
  })

/** Every visible control can be told apart by a screen reader: a label or a text of its own. */
const unlabelledControls = (page: Page) =>
  page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>("input, select, textarea, button")]
      .filter((el) => el.offsetParent !== null)
      .filter((el) => {
        const labels = (el as HTMLInputElement).labels
        return !(labels && labels.length > 0) && !el.getAttribute("aria-label") && !(el.tagName === "BUTTON" && el.textContent!.trim() !== "")
      })
      .map((el) => el.outerHTML)
  )

const App = Layer.merge(TestApp(), Browser.layer)

describe.skipIf(skipWithoutChromium)("the console in headless Chromium", () => {
  layer(App, { excludeTestServices: true })("the console", (it) => {
    it.effect("an import started from the page: its bar climbs to 100 % and the table shows exactly the list's rows", () =>
      Effect.gen(function*() {
        const api = yield* client
        const user = yield* makeUser({ credits: 1_000 })
        const { page, problems } = yield* newPage
        yield* call(() => signIn(page, api.baseUrl, user.token))
        yield* textBecomes(page, "credits-available", "1,000")
        yield* call(() => recordProgress(page))

        // Seven or so pages of 25, a quarter of a second each: long enough to be watched.
        const runId = yield* call(() => startFromPage(page, { url: search("&fakeCount=300&fakeLatencyMs=250"), max: "150", listName: "Chromium test" }))
        const item = page.locator(`#import-${runId}`)
        yield* call(() => item.and(page.locator('[data-status="completed"]')).waitFor(WAIT))
        expect(yield* call(() => item.locator("progress").evaluate((bar: HTMLProgressElement) => bar.value))).toBe(100)
        expect(yield* call(() => item.locator(".import-status").textContent())).toBe("Completed · 100 % · 150 of 150 leads imported")
        expect(yield* call(() => item.locator("button", { hasText: "Cancel import" }).isHidden())).toBe(true)

        // The rows shown are the list's rows, in order, each once.
        const status = (yield* apiGet(user.token, `/api/imports/${runId}`)).body as ImportStatusBody
        const rows = yield* allRows(api, user.token, status.listId)
        expect(rows).toHaveLength(150)
        yield* textBecomes(page, "rows-count", count(rows.length))
        const shownIds = yield* call(() => page.locator("#rows-body tr").evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.rowId)))
        expect(shownIds).toEqual(rows.map((r) => r.id))
        yield* textBecomes(page, "rows-list-name", "“Chromium test”")

        // The bar never went back on its way to 100 %, and the table only ever grew. (That both move
        // while the import runs is shown by the cancel test, which waits for it without a race.)
        const { bars, rowCounts } = yield* call(() => recorded(page))
        const values = bars[runId]!
        expect(values.at(-1)).toBe(100)
        expect([...values].sort((a, b) => a - b)).toEqual(values)
        expect(rowCounts.at(-1)).toBe(150)
        expect([...rowCounts].sort((a, b) => a - b)).toEqual(rowCounts)

        // The credits shown are the service's, once the import has ended.
        const credits = (yield* apiGet(user.token, "/api/credits")).body
        expect(credits).toEqual({ balance: 850, reserved: 0, available: 850 })
        yield* textBecomes(page, "credits-available", count(credits.available))
        expect(yield* call(() => unlabelledControls(page))).toEqual([])
        yield* call(() => page.screenshot({ path: join(ARTIFACTS, "import-completed.png"), fullPage: true }))
        yield* expectNoProblems(problems)
      }))

    it.effect("a slow import, watched live on the page, then canceled from it: it ends canceled, its rows stay, its credits come back", () =>
      Effect.gen(function*() {
        const api = yield* client
        const user = yield* makeUser({ credits: 1_000 })
        const { page, problems } = yield* newPage
        yield* call(() => signIn(page, api.baseUrl, user.token))
        const runId = yield* call(() => startFromPage(page, { url: search("&fakeCount=2500&fakeLatencyMs=400"), max: "1000", listName: "To cancel" }))
        const item = page.locator(`#import-${runId}`)
        // Live: while it runs (forty pages of 0.4 s: time enough, whatever the load), its bar moves
        // off 0 and its rows appear in the table, both fed by its stream. Then it is canceled.
        yield* call(() => page.waitForFunction((id) => /^Running · \d+ % · [1-9]/.test(document.querySelector(`#${id} .import-status`)?.textContent ?? ""), `import-${runId}`, WAIT))
        yield* call(() => page.waitForFunction(() => Number(document.getElementById("rows-count")?.textContent) > 0, undefined, WAIT))
        const runningBar = yield* call(() => item.locator("progress").evaluate((bar: HTMLProgressElement) => bar.value))
        expect(runningBar).toBeGreaterThan(0)
        expect(runningBar).toBeLessThan(100)
        yield* call(() => item.getByRole("button", { name: "Cancel import" }).click())
        yield* call(() => item.and(page.locator('[data-status="canceled"]')).waitFor(WAIT))

        const status = (yield* apiGet(user.token, `/api/imports/${runId}`)).body as ImportStatusBody
        expect(status).toMatchObject({ status: "canceled", completionReason: "canceled", cancelRequested: true })
        expect(status.leadsImported).toBeGreaterThan(0)
        expect(status.leadsImported).toBeLessThan(1_000)
        expect(yield* call(() => item.locator(".import-status").textContent())).toMatch(/^Canceled · \d+ % · [\d,]+ of 1,000 leads imported$/)
        expect(yield* call(() => item.locator(".import-outcome").textContent())).toBe("Ended because it was canceled.")
        expect(yield* call(() => item.locator("progress").evaluate((bar: HTMLProgressElement) => bar.value))).toBeLessThan(100)
        expect(yield* call(() => item.getByRole("button", { name: "Cancel import" }).isHidden())).toBe(true)

        // Its rows stay (the rows view shows them all), the unused credits are back (the page shows it).
        const rows = yield* allRows(api, user.token, status.listId)
        expect(rows).toHaveLength(status.leadsImported)
        yield* textBecomes(page, "rows-count", count(rows.length))
        const credits = (yield* apiGet(user.token, "/api/credits")).body
        expect(credits).toEqual({ balance: 1_000 - status.leadsImported, reserved: 0, available: 1_000 - status.leadsImported })
        yield* textBecomes(page, "credits-available", count(credits.available))
        yield* call(() => page.screenshot({ path: join(ARTIFACTS, "import-canceled.png"), fullPage: true }))
        yield* expectNoProblems(problems)
      }))

    it.effect("keyboard only: Tab reaches the token, every field and the list's buttons; Enter submits; focus is always visible", () =>
      Effect.gen(function*() {
        const api = yield* client
        const user = yield* makeUser({ credits: 1_000 })
        const earlier = (yield* startImport(api, user.token, { url: search("&fakeCount=30"), maxResults: 30 })).body
        yield* awaitImport(api, user.token, earlier.runId, earlier.listId)
        const { page, problems } = yield* newPage
        yield* call(() => page.goto(`${api.baseUrl}/console`))

        /** Presses Tab until the focus is on what `selector` names; the ids (or texts) passed on the way. */
        const tabTo = (selector: string, limit: number) =>
          call(async () => {
            const path: Array<string> = []
            for (let i = 0; i < limit; i++) {
              await page.keyboard.press("Tab")
              const here = await page.evaluate((s) => {
                const el = document.activeElement!
                return { name: el.id || el.textContent!.trim(), matches: el.matches(s) }
              }, selector)
              path.push(here.name)
              if (here.matches) return path
            }
            throw new Error(`not reached in ${limit} Tabs: ${path.join(" → ")}`)
          })
        /** The focused element's outline. */
        const focusRing = () =>
          call(() => page.evaluate(() => {
            const style = getComputedStyle(document.activeElement!)
            return { style: style.outlineStyle, width: parseFloat(style.outlineWidth) }
          }))
        const visibleRing = { style: "solid", width: 3 }

        expect(yield* tabTo("#token", 4)).toEqual(["Skip to content", "token"])
        expect(yield* focusRing()).toEqual(visibleRing)
        yield* call(() => page.keyboard.type(user.token))
        yield* call(() => page.keyboard.press("Enter"))
        yield* call(() => page.locator("#signed-in").waitFor({ state: "visible", ...WAIT }))
        // Signed in, the focus is where the work starts: the form's first field.
        yield* call(() => page.waitForFunction(() => document.activeElement?.id === "import-url", undefined, WAIT))
        yield* call(() => page.keyboard.type(search("&fakeCount=60")))
        expect(yield* tabTo("#import-maxResults", 1)).toEqual(["import-maxResults"])
        expect(yield* focusRing()).toEqual(visibleRing)
        yield* call(() => page.keyboard.type("40"))
        expect(yield* tabTo("#import-listName", 2)).toEqual(["target-new", "import-listName"])
        yield* call(() => page.keyboard.type("Typed, not clicked"))
        expect(yield* tabTo("#start-import", 1)).toEqual(["start-import"])
        expect(yield* focusRing()).toEqual(visibleRing)
        yield* call(() => page.keyboard.press("Enter"))
        const runId = yield* call(() => runIdShown(page))
        const status = (yield* apiGet(user.token, `/api/imports/${runId}`)).body as ImportStatusBody
        expect(status.maxResults).toBe(40)
        yield* textBecomes(page, "rows-list-name", "“Typed, not clicked”")

        // On from the button that kept the focus, into the list: Enter on the earlier import's "Show rows" shows its list.
        yield* call(() => page.locator(`#import-${earlier.runId}`).waitFor(WAIT))
        yield* tabTo(`#import-${earlier.runId} .actions button.secondary`, 12)
        expect(yield* focusRing()).toEqual(visibleRing)
        yield* call(() => page.keyboard.press("Enter"))
        yield* call(() => page.waitForFunction((listId) => (document.getElementById("rows-listId") as HTMLInputElement).value === listId, earlier.listId, WAIT))
        yield* textBecomes(page, "rows-count", "30")
        yield* expectNoProblems(problems)
      }))

    it.effect("the token: a wrong one is refused in place; a good one lives in sessionStorage, never in the URL; a revoked one signs the page out", () =>
      Effect.gen(function*() {
        const api = yield* client
        const created = (yield* call(() =>
          api.request("POST", "/api/admin/users", { token: ADMIN_TOKEN, json: { email: `${crypto.randomUUID()}@example.com`, credits: 10, salesNavigator: true } })
        )).body
        const { page, problems } = yield* newPage
        yield* call(async () => {
          await page.goto(`${api.baseUrl}/console`)
          await page.getByLabel("API token", { exact: true }).fill("sni_not-a-token")
          await page.getByRole("button", { name: "Use token" }).click()
        })
        yield* textBecomes(page, "token-error", "This token was not accepted: check that it is complete and has not been revoked.")
        expect(yield* call(() => page.locator("#signed-in").isHidden())).toBe(true)
        expect(yield* call(() => page.evaluate(() => sessionStorage.getItem("sni.token")))).toBeNull()

        yield* call(() => signIn(page, api.baseUrl, created.token))
        expect(yield* call(() => page.evaluate(() => sessionStorage.getItem("sni.token")))).toBe(created.token)
        // A reload keeps it (this tab's storage); the address never carries it.
        yield* call(() => page.reload())
        yield* textBecomes(page, "credits-available", "10")
        expect(page.url()).toBe(`${api.baseUrl}/console`)

        expect((yield* call(() => api.request("DELETE", `/api/admin/tokens/${created.tokenId}`, { token: ADMIN_TOKEN }))).status).toBe(204)
        yield* call(() => page.getByRole("button", { name: "Refresh" }).click())
        yield* textBecomes(page, "token-error", "The service no longer accepts your token (it may have been revoked): paste a valid one.")
        expect(yield* call(() => page.locator("#signed-in").isHidden())).toBe(true)
        expect(yield* call(() => page.evaluate(() => sessionStorage.getItem("sni.token")))).toBeNull()
        yield* expectNoProblems(problems)
      }))

    it.effect("support: the timeline of another user's import by run id lists every page, as the support API does; a user's token is refused in place", () =>
      Effect.gen(function*() {
        const api = yield* client
        const owner = yield* makeUser({ credits: 1_000 })
        const started = (yield* startImport(api, owner.token, { url: search("&fakeCount=130"), maxResults: 100 })).body
        const ended = (yield* awaitImport(api, owner.token, started.runId, started.listId)).status
        expect(ended.pagesFetched).toBeGreaterThanOrEqual(4)
        const staff = yield* makeUser({ credits: 10 })
        const { page, problems } = yield* newPage
        yield* call(() => signIn(page, api.baseUrl, staff.token))
        const showTimeline = (token: string) =>
          call(async () => {
            await page.getByLabel("Support token").fill(token)
            await page.getByLabel("Run id").fill(started.runId)
            await page.getByRole("button", { name: "Show timeline" }).click()
          })

        // A user's token (the very one the page is signed in with): refused next to the form, nothing shown, still signed in.
        yield* showTimeline(staff.token)
        yield* textBecomes(page, "support-error", "Missing or wrong support token")
        expect(yield* call(() => page.locator("#support-result").isHidden())).toBe(true)
        expect(yield* call(() => page.getByLabel("Support token").getAttribute("aria-invalid"))).toBe("true")
        expect(yield* call(() => page.evaluate(() => sessionStorage.getItem("sni.supportToken")))).toBeNull()
        expect(yield* call(() => page.locator("#signed-in").isVisible())).toBe(true)
        expect(yield* call(() => page.evaluate(() => sessionStorage.getItem("sni.token")))).toBe(staff.token)

        // The support token: the import's whole timeline, line for line what the support API answers.
        yield* showTimeline(SUPPORT_TOKEN)
        yield* call(() => page.locator("#support-result").waitFor({ state: "visible", ...WAIT }))
        expect(yield* call(() => page.locator("#support-error").textContent())).toBe("")
        const reply = yield* apiGet(SUPPORT_TOKEN, `/api/support/imports/${started.runId}`)
        expect(reply.status).toBe(200)
        const timeline = reply.body.timeline as Array<{ at: string; type: string; page: number | null; summary: string }>
        const shown = yield* call(() =>
          page.locator("#support-timeline tr").evaluateAll((trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)))
        )
        expect(shown).toEqual(timeline.map((t) => [t.at.replace("T", " ").replace(/\.\d+Z$/, "Z"), t.type, t.page === null ? "" : String(t.page), t.summary]))
        // Every page of the import is there, fetched, deduplicated and persisted.
        const pages = Array.from({ length: ended.pagesFetched }, (_, i) => String(i + 1))
        for (const type of ["PageFetched", "LeadsDeduped", "BatchPersisted"]) {
          expect(shown.filter(([, t]) => t === type).map(([, , p]) => p), type).toEqual(pages)
        }
        expect(yield* call(() => page.locator("#support-title").textContent())).toBe(`Import ${started.runId} of user ${owner.userId}`)
        expect(yield* call(() => page.locator("#support-status").textContent())).toBe("Completed · 100 % · 100 of 100 leads imported")
        expect(yield* call(() => page.getByLabel("Support token").getAttribute("aria-invalid"))).toBeNull()
        expect(yield* call(() => page.evaluate(() => sessionStorage.getItem("sni.supportToken")))).toBe(SUPPORT_TOKEN)
        yield* call(() => page.locator("#support-heading").scrollIntoViewIfNeeded())
        yield* call(() => page.screenshot({ path: join(ARTIFACTS, "support-timeline.png"), fullPage: true }))
        yield* expectNoProblems(problems)
      }))

    it.effect("at 360 px wide nothing scrolls sideways and every control is labelled", () =>
      Effect.gen(function*() {
        const api = yield* client
        const user = yield* makeUser({ credits: 100 })
        // An import that was shortened to the credits (a warning) and has ended, with long names everywhere.
        const started = (yield* startImport(api, user.token, {
          url: search("&fakeCount=300"),
          maxResults: 500,
          listName: "A list with a rather long name that has to wrap on a small phone screen"
        })).body
        expect(started.wasCapped).toBe(true)
        yield* awaitImport(api, user.token, started.runId, started.listId)
        const { page, problems } = yield* newPage
        yield* call(() => page.setViewportSize({ width: 360, height: 740 }))
        yield* call(() => signIn(page, api.baseUrl, user.token))
        const item = page.locator(`#import-${started.runId}`)
        yield* call(() => item.locator(".warning").waitFor(WAIT))
        yield* call(() => item.getByRole("button", { name: "Show rows" }).click())
        yield* textBecomes(page, "rows-count", "100")
        yield* call(() => page.getByLabel("Support token").fill("a support token"))
        yield* call(() => page.getByLabel("Run id").fill(started.runId))

        const overflow = yield* call(() => page.evaluate(() => ({
          scrollWidth: document.documentElement.scrollWidth,
          clientWidth: document.documentElement.clientWidth,
          // Wide tables scroll inside their own box; nothing else may stick out.
          sticking: [...document.querySelectorAll<HTMLElement>("main *")]
            .filter((el) => el.offsetParent !== null && el.closest(".table-wrap") === null)
            .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
            .map((el) => el.outerHTML.slice(0, 80))
        })))
        expect(overflow.clientWidth).toBe(360)
        expect(overflow.scrollWidth).toBeLessThanOrEqual(overflow.clientWidth)
        expect(overflow.sticking).toEqual([])
        expect(yield* call(() => unlabelledControls(page))).toEqual([])
        yield* call(() => page.screenshot({ path: join(ARTIFACTS, "console-360px.png"), fullPage: true }))
        yield* expectNoProblems(problems)
      }))
  })
})
