import FleetCache
public import HTTPTypes
public import Hummingbird

/// Adds `Cache-Status` (RFC 9211) to API responses that consulted a cache: `hit` when
/// every lookup was answered from L1 or L2, `fwd=miss` when something was loaded from the
/// database, `fwd=stale` when a stale entry stood in for a failed reload.
public struct CacheStatusMiddleware: RouterMiddleware {
    public typealias Context = ConduitContext

    public static var headerName: HTTPField.Name { HTTPField.Name("Cache-Status")! }

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let status = CacheStatus()
        var response = try await CacheStatus.$current.withValue(status) { try await next(request, context) }
        if let value = status.headerValue { response.headers[Self.headerName] = value }
        return response
    }
}
