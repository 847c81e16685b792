/**
 * `node src/db/pgliteCreate.ts <dataDir>`: creates a PGlite database in dataDir, then exits.
 * The service runs it as a process of its own on a first start (Database.ts), so that what initdb
 * leaves in memory (~150 MB that V8 and the allocator keep after it is garbage) goes back to the
 * OS with the process instead of staying in the service for good.
 */
import { PGlite } from "@electric-sql/pglite"

const dataDir = process.argv[2]
if (dataDir === undefined) throw new Error("usage: node src/db/pgliteCreate.ts <dataDir>")
const pglite = await PGlite.create({ dataDir })
await pglite.close()
