/**
 * Routes whose module loads on their first request. What a process may never serve — the MCP
 * server (~14 MB of modules) and the docs UI (a 3 MB script, held as a string) — then costs
 * memory only in a process that serves it: idle RSS is what the API needs.
 *
 * The loaded layer is built once, into a router of its own, with the services this layer was
 * built with; each request is then handed to that router.
 */
import { Context, Effect, Layer, type Scope } from "effect"
import { HttpRouter } from "effect/http"

type Method = "*" | "GET" | "POST" | "DELETE"

export const lazyRoutes = <E, R>(
  routes: ReadonlyArray<{ readonly method: Method; readonly path: `/${string}` }>,
  load: () => Promise<Layer.Layer<never, E, R | HttpRouter.HttpRouter>>
): Layer.Layer<never, never, HttpRouter.HttpRouter | Exclude<R, Scope.Scope>> =>
  HttpRouter.use(Effect.fnUntraced(function*(router) {
    const services = yield* Effect.context<Exclude<R, Scope.Scope> | Scope.Scope>()
    // Built once, on the first request.
    const app = yield* Effect.cached(
      Effect.promise(load).pipe(
        // A router of its own (fresh: the server's router is in the memo map), for as long as the server lives.
        Effect.flatMap((layer) => Layer.build(Layer.provideMerge(layer, Layer.fresh(HttpRouter.layer)))),
        Effect.map((built) => Context.get(built, HttpRouter.HttpRouter).asHttpEffect()),
        Effect.provideContext(services),
        Effect.orDie
      )
    )
    for (const { method, path } of routes) {
      yield* router.add(method, path, Effect.flatten(app) as never)
    }
  }))
