public import Hummingbird

/// Traces a share of the requests, deciding once at the edge: a request that carries a
/// `traceparent` is traced (its caller decided; the tracer's parent-based sampler honours
/// the sampled flag), any other one with probability `ratio`. A request not chosen makes
/// no span at all, and none of its statements, cache lookups or calls do either: tracing
/// 1 % of the traffic then costs about 1 %, where a span made for every request and
/// dropped by the sampler cost far more (BENCHMARKS.md). Health probes are never traced.
public struct HeadSamplingMiddleware<Context: RequestContext>: RouterMiddleware {
    let tracing = TracingMiddleware<Context>()
    let ratio: Double
    let excluded: [String]

    public init(ratio: Double, except excluded: [String] = ["/health"]) {
        self.ratio = ratio
        self.excluded = excluded
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard Self.traces(path: request.uri.path, hasParent: request.headers[.traceparent] != nil, ratio: ratio, excluded: excluded, draw: Double.random(in: 0..<1))
        else { return try await next(request, context) }
        return try await tracing.handle(request, context: context, next: next)
    }

    /// The decision, apart from the randomness that feeds it.
    static func traces(path: String, hasParent: Bool, ratio: Double, excluded: [String], draw: Double) -> Bool {
        if excluded.contains(where: { path.hasPrefix($0) }) { return false }
        return hasParent || draw < ratio
    }
}
