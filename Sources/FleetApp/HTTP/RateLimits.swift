import FleetHTTP
import FleetRateLimit
import HTTPTypes
import Hummingbird

/// Conduit's rate-limit classes: sign-up and login are strict and always counted per
/// client IP (they are what credential stuffing hits); other writes and reads are
/// counted per user when a valid token is presented, else per client IP.
struct RateLimits: Sendable {
    let auth: RateLimitPolicy
    let write: RateLimitPolicy
    let read: RateLimitPolicy
    let addresses: ClientAddressResolver

    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!

    init(settings: FleetSettings) {
        auth = RateLimitPolicy(name: "auth", quota: settings.rateLimitAuthPerMinute, window: .seconds(60))
        write = RateLimitPolicy(name: "write", quota: settings.rateLimitWritePerMinute, window: .seconds(60))
        read = RateLimitPolicy(name: "read", quota: settings.rateLimitReadPerMinute, window: .seconds(60))
        addresses = ClientAddressResolver(trustedProxies: settings.trustedProxies)
    }

    func rule(for request: Request, context: ConduitContext) -> RateLimitMiddleware<ConduitContext>.Rule? {
        let client = {
            "ip:" + ClientAddressResolver.key(
                for: addresses.client(peer: context.remoteAddress, forwardedFor: request.headers[values: Self.forwardedFor])
            )
        }
        if request.method == .options { return nil }
        if request.method == .post, request.uri.path == "/api/users" || request.uri.path == "/api/users/login" {
            return .init(policy: auth, key: client())
        }
        let who = context.viewer.map { "user:\($0.rawValue)" } ?? client()
        return .init(policy: request.method == .get || request.method == .head ? read : write, key: who)
    }
}
