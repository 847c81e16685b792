/**
 * The floors' database access: a statement and its parameters, on postgres.js (prepared) or on
 * a PGlite instance of their own. Nothing of the service: what the database alone can do.
 */
import { PGlite } from "@electric-sql/pglite"
import postgres from "postgres"

export interface FloorSql {
  query(text: string, params?: ReadonlyArray<unknown>): Promise<ReadonlyArray<Record<string, unknown>>>
  close(): Promise<void>
}

/** postgres.js against `url`, `max` connections, every statement prepared. */
export const floorPostgres = (url: string, max: number): FloorSql => {
  const sql = postgres(url, { max, onnotice: () => {} })
  return {
    query: (text, params = []) => sql.unsafe(text, params as Array<any>, { prepare: true }),
    close: () => sql.end()
  }
}

/** An in-memory PGlite of its own (one connection, like the service's). */
export const floorPGlite = async (): Promise<FloorSql> => {
  const pg = await PGlite.create()
  return {
    query: async (text, params = []) => (await pg.query<Record<string, unknown>>(text, params as Array<unknown>)).rows,
    close: () => pg.close()
  }
}
