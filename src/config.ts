/**
 * The one start-up rule that protects real users' money: a process that handles it never
 * falls back to a toy. The embedded PGlite database and the fake lead source are the
 * defaults for development; with NODE_ENV=production (the service) and in every Trigger.dev
 * task worker they must be chosen explicitly, or start-up fails and says what to set.
 */
import { Config, ConfigProvider, Effect, Option } from "effect"

/** A configuration error carrying a message that tells the operator what to set and why. */
export const configError = (message: string): Config.ConfigError =>
  new Config.ConfigError(new ConfigProvider.SourceError({ message }))

/** NODE_ENV=production: the service handles real users' credits. */
export const productionConfig: Config.Config<boolean> = Config.String("NODE_ENV").pipe(
  Config.withDefault(""),
  Config.map((value) => value.trim() === "production")
)

/** `name` as set in the environment, or none when it is unset or blank. */
export const setting = (name: string): Effect.Effect<Option.Option<string>, Config.ConfigError> =>
  Effect.map(Config.option(Config.String(name)), Option.filter((value) => value.trim() !== ""))

/** `name`, which must be set: otherwise a ConfigError whose message is `why`. */
export const requiredSetting = (name: string, why: string): Effect.Effect<string, Config.ConfigError> =>
  Effect.flatMap(setting(name), Option.match({
    onNone: () => Effect.fail(configError(why)),
    onSome: Effect.succeed
  }))
