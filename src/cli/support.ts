/**
 * `npm run support -- <command>`: the support staff's tool. It talks to the running service's
 * support API (SUPPORT_URL, SUPPORT_TOKEN) rather than to the database: PGlite has a single
 * owner — only the running service can open its data directory — so the API is the one path
 * that works against a running service on both backends, and a rebuild runs (and resumes) in
 * the service whatever the CLI does. Data goes to stdout, progress and notes to stderr; an
 * error is one line on stderr and a non-zero exit code (2 for a usage error).
 */
import { CliError, supportClient } from "./support/client.ts"
import { type Command, type Io, parse } from "./support/command.ts"
import { events } from "./support/events.ts"
import { importTimeline, projections, rows } from "./support/inspect.ts"
import { rebuild } from "./support/rebuild.ts"

const commands: ReadonlyArray<Command> = [events, importTimeline, projections, rebuild, rows]

const usage = `Usage: npm run support -- <command> [options]

Support tools for the Sales Navigator import service. They call the running service's support
API: set SUPPORT_TOKEN (the service's) and, if it is not on http://127.0.0.1:3000, SUPPORT_URL.

Commands:
${commands.map((c) => `  ${c.name.padEnd(13)}${c.summary}`).join("\n")}

Run \`npm run support -- <command> --help\` for a command's options and examples.`

// A reader that stops early (`| head`) ends the command, quietly.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(0)
  throw e
})

const io: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  status: process.stderr.isTTY ? (line) => process.stderr.write(`\r${line}\x1b[K`) : undefined
}

const main = async (argv: ReadonlyArray<string>): Promise<void> => {
  const [name, ...rest] = argv
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    const about = name === "help" ? commands.find((c) => c.name === rest[0]) : undefined
    return io.out(about?.help ?? usage)
  }
  const command = commands.find((c) => c.name === name)
  if (command === undefined) {
    throw new CliError(`unknown command ${name}; commands: ${commands.map((c) => c.name).join(", ")} (see: npm run support -- --help)`, 2)
  }
  const args = parse(command, rest)
  if (args.values.help === true) return io.out(command.help)
  await command.run(args, () => supportClient(process.env), io)
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`support: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exitCode = e instanceof CliError ? e.exitCode : 1
})
