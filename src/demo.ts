/**
 * First start on the embedded database: create a demo user with a Sales Navigator
 * account and 5,000 credits, and print its token with a curl command that works.
 * Never on PostgreSQL (DATABASE_URL) and never when any user exists.
 */
import { Config, Console, Effect, Layer } from "effect"
import { Accounts } from "./accounts/Accounts.ts"
import { Database } from "./db/Database.ts"

export const DEMO_CREDITS = 5000

export const DemoUser = (port: number) =>
  Layer.effectDiscard(Effect.gen(function*() {
    const db = yield* Database
    const enabled = yield* Config.Boolean("DEMO_USER").pipe(Config.withDefault(db.backend === "pglite"))
    const accounts = yield* Accounts
    if (!enabled || (yield* accounts.countUsers) > 0) return
    const { token } = yield* accounts.createUser({ email: "demo@example.com", credits: DEMO_CREDITS, salesNavigator: true })
    yield* Console.log([
      "",
      `Demo user demo@example.com created with ${DEMO_CREDITS} IMPORT_LEAD credits and a Sales Navigator account.`,
      `Its API token (shown once): ${token}`,
      `AI agents connect to the MCP endpoint http://127.0.0.1:${port}/mcp with the same token (README: For AI agents).`,
      "",
      "Try:",
      `  export TOKEN=${token}`,
      `  curl -s -X POST http://127.0.0.1:${port}/api/lists/import-sales-nav \\`,
      `    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\`,
      `    -d '{"url": "https://www.linkedin.com/sales/search/people?query=(keywords%3Acto)", "maxResults": 100}'`,
      "",
      `Or open http://127.0.0.1:${port}/console in a browser and paste the token there.`,
      ""
    ].join("\n"))
  }))
