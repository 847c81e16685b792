/**
 * `npm run bench [-- --quick] [-- --only post,pipeline,append,rebuild,memory,dedupe]`: the service
 * next to the physical limits of its database, each figure beside its floor measured in the same
 * run. With DATABASE_URL: real PostgreSQL (scratch databases, created and dropped here), plus PGlite
 * where a section says so; without it, PGlite only. Each section prints its table as soon as it is
 * done; all of them go to bench/results.json (git-ignored). See bench/README.md.
 */
import { writeFileSync } from "node:fs"
import { parseArgs } from "node:util"
import { type Options, type Row, table } from "./lib.ts"
import { runAppend } from "./append.ts"
import { runPipeline } from "./pipeline.ts"
import { runPost } from "./post.ts"

const SECTIONS: Record<string, (options: Options) => Promise<Array<Row>>> = {
  post: runPost,
  pipeline: runPipeline,
  append: runAppend
}

const { values } = parseArgs({
  options: { quick: { type: "boolean", default: false }, only: { type: "string" } }
})
const only = values.only ? values.only.split(",").map((s) => s.trim()) : Object.keys(SECTIONS)
for (const name of only) if (!(name in SECTIONS)) throw new Error(`unknown section ${name}; sections: ${Object.keys(SECTIONS).join(", ")}`)

const options: Options = { quick: values.quick, databaseUrl: process.env.DATABASE_URL || undefined }
const started = Date.now()
console.log(options.databaseUrl
  ? `# npm run bench${options.quick ? " --quick" : ""}: PostgreSQL (DATABASE_URL, scratch databases)`
  : `# npm run bench${options.quick ? " --quick" : ""}: DATABASE_URL is not set — PGlite only (in memory)`)

const results: Record<string, Array<Row>> = {}
const save = () =>
  writeFileSync(
    new URL("./results.json", import.meta.url),
    JSON.stringify({ date: new Date().toISOString(), quick: options.quick, postgres: options.databaseUrl !== undefined, results }, null, 2)
  )
for (const name of only) {
  const sectionStarted = Date.now()
  const rows = await SECTIONS[name]!(options)
  results[name] = rows
  save()
  console.log(`\n## ${name} (${((Date.now() - sectionStarted) / 1000).toFixed(0)} s)\n\n${table(rows)}`)
}
console.log(`\nAll done in ${((Date.now() - started) / 1000).toFixed(0)} s; bench/results.json written.`)
process.exit(0)
