public import Hummingbird
public import HTTPTypes

/// A request context that knows the client behind the request (resolved once, by
/// `ClientAddressMiddleware`, for everything that keys on it: rate limits, read-your-writes).
public protocol ClientAddressRequestContext: RequestContext {
    /// The peer of the connection: a load balancer, or the client itself.
    var peerAddress: IPAddress? { get }
    /// The client, as `ClientAddressResolver` finds it; set by `ClientAddressMiddleware`.
    var clientAddress: IPAddress? { get set }
}

extension ClientAddressRequestContext {
    /// The client as a key for per-client state (IPv6 by its /56).
    public var clientKey: String { "ip:" + ClientAddressResolver.key(for: clientAddress) }
}

/// Resolves the client address of each request once, from the peer and, when the peer is
/// a trusted proxy, `X-Forwarded-For`.
public struct ClientAddressMiddleware<Context: ClientAddressRequestContext>: RouterMiddleware {
    public static var forwardedFor: HTTPField.Name { HTTPField.Name("X-Forwarded-For")! }
    let resolver: ClientAddressResolver

    public init(_ resolver: ClientAddressResolver) {
        self.resolver = resolver
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.clientAddress = resolver.client(peer: context.peerAddress, forwardedFor: request.headers[values: Self.forwardedFor])
        return try await next(request, context)
    }
}
