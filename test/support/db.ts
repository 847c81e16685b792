/**
 * An isolated, migrated database for one test file (or one test):
 * a clone of the template database on PostgreSQL, a fresh in-memory PGlite otherwise.
 */
import { Effect, Layer } from "effect"
import { readFileSync } from "node:fs"
import { randomBytes } from "node:crypto"
import postgres from "postgres"
import { inject } from "vitest"
import { Database } from "../../src/db/Database.ts"
import { adminUrl, withDatabase } from "./postgres-url.ts"

export const backend: "postgres" | "pglite" = process.env.DATABASE_URL ? "postgres" : "pglite"

let dump: Blob | undefined
const pgliteDump = (): Blob => (dump ??= new Blob([readFileSync(inject("pgliteDump"))]))

/** Creates a scratch database cloned from the template; returns its URL and a dropper. */
export const createScratchDatabase = async (): Promise<{ url: string; drop: () => Promise<void> }> => {
  const url = process.env.DATABASE_URL!
  const name = `sni_test_${randomBytes(6).toString("hex")}`
  const admin = postgres(adminUrl(url), { max: 1, onnotice: () => {} })
  try {
    await admin.unsafe(`create database ${name} template ${inject("postgresTemplate")}`)
  } finally {
    await admin.end()
  }
  return {
    url: withDatabase(url, name),
    drop: async () => {
      const a = postgres(adminUrl(url), { max: 1, onnotice: () => {} })
      try {
        await a.unsafe(`drop database if exists ${name} with (force)`)
      } finally {
        await a.end()
      }
    }
  }
}

/** A Database layer on a fresh isolated database, dropped when the layer is released. */
export const TestDatabase = (options: { readonly max?: number } = {}): Layer.Layer<Database, unknown> =>
  backend === "postgres"
    ? Layer.unwrap(Effect.gen(function*() {
      const scratch = yield* Effect.acquireRelease(
        Effect.promise(createScratchDatabase),
        (s) => Effect.promise(s.drop)
      )
      return Database.layerPostgres(scratch.url, options)
    }))
    : Database.layerPGlite({ loadDataDir: pgliteDump() })
