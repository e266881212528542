import FleetHTTP
import FleetRateLimit
import Hummingbird

/// Conduit's rate-limit classes, each attached to its routes where they are declared
/// (`ConduitRoutes`), so the route that matched decides, never the path as written:
///
/// - `auth`: sign-up, sign-in and password changes, always per client address (they are
///   what credential stuffing hits, and a token proves nothing about who tries);
/// - `write`: every other write, per user, else per client address;
/// - `read`: reads, per user, else per client address.
struct RateLimits: Sendable {
    let auth: RateLimitMiddleware<ConduitContext>
    let write: RateLimitMiddleware<ConduitContext>
    let read: RateLimitMiddleware<ConduitContext>

    init(settings: FleetSettings, limiter: any RateLimiter) {
        auth = RateLimitMiddleware(limiter: limiter, policy: RateLimitPolicy(name: "auth", quota: settings.rateLimitAuthPerMinute, window: .seconds(60))) {
            _, context in context.clientKey
        }
        write = RateLimitMiddleware(limiter: limiter, policy: RateLimitPolicy(name: "write", quota: settings.rateLimitWritePerMinute, window: .seconds(60))) {
            _, context in context.principalKey
        }
        read = RateLimitMiddleware(limiter: limiter, policy: RateLimitPolicy(name: "read", quota: settings.rateLimitReadPerMinute, window: .seconds(60))) {
            _, context in context.principalKey
        }
    }
}
