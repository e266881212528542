public import Hummingbird

/// Runs a middleware for every request but those whose path starts with one of the given
/// prefixes: tracing skips the health probes a load balancer sends ten times a second,
/// which would otherwise fill every trace store with nothing.
public struct ExceptPathsMiddleware<Wrapped: RouterMiddleware>: RouterMiddleware {
    public typealias Context = Wrapped.Context
    let wrapped: Wrapped
    let prefixes: [String]

    public init(_ wrapped: Wrapped, except prefixes: [String]) {
        self.wrapped = wrapped
        self.prefixes = prefixes
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if prefixes.contains(where: { path.hasPrefix($0) }) { return try await next(request, context) }
        return try await wrapped.handle(request, context: context, next: next)
    }
}
