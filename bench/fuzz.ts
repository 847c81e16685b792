/**
 * `npm run fuzz -- --runs 20000 [--seed n]`: the fuzz of `npm test` (test/http/fuzz.e2e.test.ts)
 * with more cases — the same properties, the same checks, run by vitest so the database is set
 * up as in the suite (PGlite; PostgreSQL when DATABASE_URL is set). Prints the count, the time,
 * the answers per endpoint, and a failure's counterexample. Not part of `npm test`.
 */
import { spawn } from "node:child_process"
import { parseArgs } from "node:util"

const { values } = parseArgs({
  options: { runs: { type: "string", default: "20000" }, seed: { type: "string" } }
})
const runs = Number(values.runs)
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, not ${values.runs}`)

const started = Date.now()
const child = spawn(process.execPath, ["node_modules/vitest/vitest.mjs", "run", "test/http/fuzz.e2e.test.ts", "-t", "hostile requests"], {
  env: { ...process.env, FUZZ_RUNS: String(runs), ...(values.seed !== undefined ? { FUZZ_SEED: values.seed } : {}) },
  stdio: ["ignore", "pipe", "inherit"]
})
let output = ""
child.stdout.on("data", (chunk: Buffer) => {
  output += chunk.toString()
  process.stdout.write(chunk)
})
child.on("exit", (code) => {
  const seconds = ((Date.now() - started) / 1000).toFixed(0)
  const backend = process.env.DATABASE_URL ? "PostgreSQL" : "PGlite"
  const summary = /fuzz: (\d+) cases in ([\d.]+) s/.exec(output)
  console.log(code === 0 && summary
    ? `\nfuzz on ${backend}: ${summary[1]} cases in ${summary[2]} s (${seconds} s with set-up), no 5xx, no change by an error`
    : `\nfuzz on ${backend}: FAILED after ${seconds} s (see the counterexample above)`)
  process.exit(code ?? 1)
})
