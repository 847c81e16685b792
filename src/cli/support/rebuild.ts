/**
 * `support rebuild <name>`: starts a blue/green rebuild in the running service (or follows
 * the one already running) and shows its progress on stderr — a bar redrawn in place on a
 * terminal, a plain line every few seconds otherwise — until the new version serves.
 */
import { CliError } from "./client.ts"
import type { Command } from "./command.ts"
import { progressLine } from "./format.ts"

const POLL_MS = 250
const PLAIN_EVERY_MS = 2000

export const rebuild: Command = {
  name: "rebuild",
  summary: "rebuild a projection blue/green in the running service, with a progress bar",
  positionals: 1,
  options: { json: { type: "boolean" } },
  help: `Usage: npm run support -- rebuild <name> [--json]

Replays the whole log into the next version of a projection's tables while the current version
keeps serving (and keeps being written), catches up with what was appended meanwhile, then
switches readers and writers to the new version at once and drops the old one. The running
service does the work — on PostgreSQL or its embedded PGlite — and resumes it after a restart;
this command starts it (or follows the rebuild already running) and shows its progress on
stderr until the new version serves. Names: see \`npm run support -- projections\`.

  --json     print the outcome as one JSON object

Example:
  npm run support -- rebuild list-rows`,
  run: async ({ values, positionals }, api, io) => {
    const name = positionals[0]!
    const client = api()
    const started = await client.post(`/api/support/projections/${encodeURIComponent(name)}/rebuild`)
    const state = async () => {
      const found = (await client.get("/api/support/projections")).projections.find((p: any) => p.name === name)
      if (found === undefined) throw new CliError(`no projection is named ${name}`)
      return found
    }
    let version: number
    if (started.status === 409) {
      const running = await state()
      version = running.rebuild?.version ?? running.version
      io.err(`a rebuild of ${name} (version ${version}) is already running; following it`)
    } else {
      version = started.body.version
      io.err(`rebuilding ${name} into version ${version}`)
    }
    const began = Date.now()
    let lastPlain = 0
    while (true) {
      const p = await state()
      if (p.version >= version && p.status === "live") {
        if (io.status) io.status("")
        const seconds = (Date.now() - began) / 1000
        if (values.json === true) io.out(JSON.stringify({ name, version: p.version, seconds }))
        else io.out(`rebuilt ${name}: version ${p.version} serves (${seconds.toFixed(1)} s)`)
        return
      }
      if (p.rebuild !== null) {
        const line = progressLine(p.rebuild)
        if (io.status) io.status(line)
        else if (Date.now() - lastPlain >= PLAIN_EVERY_MS) {
          lastPlain = Date.now()
          io.err(`${name} v${p.rebuild.version}: ${line.replace(/^\[[#-]*\] /, "")}`)
        }
      } else {
        throw new CliError(`the rebuild of ${name} into version ${version} is gone: version ${p.version} serves`)
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS))
    }
  }
}
