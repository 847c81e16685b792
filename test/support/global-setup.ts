/**
 * Runs once before the test workers: migrates one template database per backend so
 * every test file starts from a fresh, already-migrated copy in well under a second.
 *  - DATABASE_URL set: a template database on that server (each file clones it).
 *  - otherwise: a PGlite data-dir dump (each file loads it into a new in-memory PGlite).
 */
import { PGlite } from "@electric-sql/pglite"
import { Kysely, PostgresDialect } from "kysely"
import { rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import postgres from "postgres"
import type { TestProject } from "vitest/node"
import { migrateToLatest } from "../../src/db/migrate.ts"
import { makePGlitePool } from "../../src/db/pglite-pool.ts"
import { adminUrl, withDatabase } from "./postgres-url.ts"

export default async function setup(project: TestProject) {
  const url = process.env.DATABASE_URL
  if (url) {
    // One template per test run, so concurrent runs on one server never clobber each other.
    const templateDatabase = `sni_template_${process.pid}_${Date.now().toString(36)}`
    const admin = postgres(adminUrl(url), { max: 1, onnotice: () => {} })
    try {
      await admin.unsafe(`create database ${templateDatabase}`)
    } finally {
      await admin.end()
    }
    const { PostgresJSDialect } = await import("kysely-postgres-js")
    const db = new Kysely<any>({ dialect: new PostgresJSDialect({ postgres: postgres(withDatabase(url, templateDatabase), { max: 1, onnotice: () => {} }) }) })
    await migrateToLatest(db)
    await db.destroy()
    project.provide("pgliteDump", "")
    project.provide("postgresTemplate", templateDatabase)
    return async () => {
      const a = postgres(adminUrl(url), { max: 1, onnotice: () => {} })
      try {
        await a.unsafe(`drop database if exists ${templateDatabase} with (force)`)
      } finally {
        await a.end()
      }
    }
  }
  const pglite = await PGlite.create()
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: makePGlitePool(pglite) }) })
  await migrateToLatest(db)
  const dump = await pglite.dumpDataDir("none")
  const path = join(tmpdir(), `sales-nav-import-template-${process.pid}.tar`)
  writeFileSync(path, Buffer.from(await dump.arrayBuffer()))
  await db.destroy()
  project.provide("pgliteDump", path)
  project.provide("postgresTemplate", "")
  return () => rmSync(path, { force: true })
}

declare module "vitest" {
  export interface ProvidedContext {
    pgliteDump: string
    postgresTemplate: string
  }
}
