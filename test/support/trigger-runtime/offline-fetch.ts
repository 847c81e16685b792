/**
 * Preloaded (`node --import`) into the trigger.dev CLI while the tests build the bundle: a
 * fetch to anything but 127.0.0.1 is answered 404 without touching the network. The CLI's
 * deploy asks https://jsonhero.io for a list of forced externals (apiClient.js
 * `retrieveExternals`) and, offline, retries for 7.5 s before using its built-in list; a 404
 * is not retried, so the build is hermetic and that wait is gone.
 */
export {}

const localFetch = globalThis.fetch

globalThis.fetch = async (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input))
  if (url.hostname === "127.0.0.1" || url.hostname === "localhost") return localFetch(input, init)
  process.stderr.write(`[offline build] answered 404 for ${url.href}\n`)
  return new Response(JSON.stringify({ error: "offline test build" }), { status: 404, headers: { "content-type": "application/json" } })
}
