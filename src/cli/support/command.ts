/**
 * A command of the support CLI: its help, its options (node:util parseArgs) and what it does
 * with them. Output goes through `Io`, so data (stdout) and progress (stderr) stay apart.
 */
import { parseArgs, type ParseArgsConfig } from "node:util"
import { CliError, type SupportClient } from "./client.ts"

export interface Io {
  readonly out: (line: string) => void
  readonly err: (line: string) => void
  /** Rewrites the current stderr line (a TTY's progress bar); undefined when stderr is not a terminal. */
  readonly status: ((line: string) => void) | undefined
}

export type Options = NonNullable<ParseArgsConfig["options"]>

export interface Parsed {
  readonly values: Record<string, string | boolean | Array<string> | undefined>
  readonly positionals: ReadonlyArray<string>
}

export interface Command {
  readonly name: string
  /** One line for the command list. */
  readonly summary: string
  /** The whole help text (at most 100 columns). */
  readonly help: string
  readonly options: Options
  /** How many positional arguments it takes. */
  readonly positionals: number
  run(args: Parsed, api: () => SupportClient, io: Io): Promise<void>
}

/** Parses `argv` for `command`; a usage error exits with 2 and names the command's help. */
export const parse = (command: Command, argv: ReadonlyArray<string>): Parsed => {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: { ...command.options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true
    })
    if (values.help !== true && positionals.length !== command.positionals) {
      throw new Error(command.positionals === 0 ? `unexpected argument ${positionals[0]}` : "missing or extra arguments")
    }
    return { values: values as Parsed["values"], positionals }
  } catch (e) {
    throw new CliError(`${command.name}: ${e instanceof Error ? e.message : String(e)} (see: npm run support -- ${command.name} --help)`, 2)
  }
}

/** The value of a numeric option: a whole number from `min`, or a usage error. */
export const whole = (command: string, name: string, value: unknown, fallback: number, min = 0): number => {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n < min) throw new CliError(`${command}: --${name} must be a whole number from ${min}`, 2)
  return n
}
