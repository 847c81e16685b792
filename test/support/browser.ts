/**
 * Headless Chromium for the console's end-to-end tests: Debian's `chromium` package driven by
 * playwright-core (which never downloads a browser), with a new empty profile per test file.
 * Where no Chromium is installed the browser tests skip with a message saying so — but not in
 * CI (CI set), where .ci/run installs it and a missing browser must fail.
 */
import { Context, Effect, Layer } from "effect"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type BrowserContext, chromium, type Page } from "playwright-core"

const CANDIDATES = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"]

/** The Chromium executable, if there is one. */
export const chromiumPath = CANDIDATES.find((path) => path !== undefined && path !== "" && existsSync(path))

/** True only outside CI on a machine without Chromium. */
export const skipWithoutChromium = chromiumPath === undefined && !process.env.CI

const LOOKED_AT = "$CHROMIUM_PATH, /usr/bin/chromium, /usr/bin/chromium-browser"

if (skipWithoutChromium) {
  console.warn(`SKIPPED: the console's browser tests: no Chromium found (${LOOKED_AT}); install it with \`apt-get install -y chromium\` (.ci/run does)`)
}

/** Flags for a root user in a container, and nothing that phones home. */
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]

/** Where the tests leave screenshots (git-ignored). */
export const ARTIFACTS = join(process.cwd(), "test-artifacts", "console")

/** One browser (a persistent context on a fresh profile directory) for a test file. */
export class Browser extends Context.Service<Browser, BrowserContext>()("test/Browser") {
  static readonly layer = Layer.effect(
    Browser,
    Effect.acquireRelease(
      Effect.promise(async () => {
        if (chromiumPath === undefined) {
          throw new Error(`CI is set and no Chromium was found (${LOOKED_AT}): .ci/run installs Debian's chromium; the console's browser tests must run`)
        }
        const profile = mkdtempSync(join(tmpdir(), "console-chromium-"))
        const context = await chromium.launchPersistentContext(profile, {
          executablePath: chromiumPath,
          headless: true,
          args: FLAGS,
          viewport: { width: 1200, height: 900 }
        })
        return Object.assign(context, { profile })
      }),
      (context) =>
        Effect.promise(async () => {
          await context.close()
          rmSync(context.profile, { recursive: true, force: true })
        })
    )
  )
}

/** What went wrong inside a page: uncaught errors and Content-Security-Policy violations. */
export interface PageProblems {
  readonly errors: Array<string>
  readonly violations: () => Promise<Array<string>>
}

/** A new tab that records its problems; closed when the test's scope closes. */
export const newPage = Effect.gen(function*() {
  const context = yield* Browser
  const page = yield* Effect.acquireRelease(Effect.promise(() => context.newPage()), (p) => Effect.promise(() => p.close()))
  const errors: Array<string> = []
  page.on("pageerror", (error) => errors.push(error.message))
  yield* Effect.promise(() =>
    page.addInitScript(() => {
      const seen: Array<string> = []
      ;(window as any).__violations = seen
      document.addEventListener("securitypolicyviolation", (e) => seen.push(`${e.violatedDirective} ${e.blockedURI}`))
    })
  )
  const problems: PageProblems = { errors, violations: () => page.evaluate(() => (window as any).__violations as Array<string>) }
  return { page, problems } as { readonly page: Page; readonly problems: PageProblems }
})
