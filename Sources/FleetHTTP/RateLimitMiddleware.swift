public import FleetRateLimit
import FleetSupport
public import HTTPTypes
public import Hummingbird

/// One rate-limit class on the routes it is added to (a router group: the matched route,
/// never the raw path, decides): each request is counted against `policy` under the key
/// `key` gives it, and told where it stands with the IETF headers
/// (`RateLimit-Policy: "read";q=600;w=60` and `RateLimit: "read";r=599;t=1`). A refused
/// request fails with `RateLimitedError`; an error further in keeps the headers.
public struct RateLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    let limiter: any RateLimiter
    public let policy: RateLimitPolicy
    let key: @Sendable (Request, Context) -> String

    public init(limiter: any RateLimiter, policy: RateLimitPolicy, key: @escaping @Sendable (Request, Context) -> String) {
        self.limiter = limiter
        self.policy = policy
        self.key = key
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let headers = try await admit(request, context: context)
        do {
            var response = try await next(request, context)
            response.headers.append(contentsOf: headers)
            return response
        } catch {
            // Error responses count against the quota too, so they carry the headers.
            throw HeaderedError(error, headers: headers)
        }
    }

    /// Counts one request; returns the headers that tell its state, or throws
    /// `RateLimitedError` when the quota is spent. Also for handlers that charge a second
    /// class once they know what a request does (a password change).
    public func admit(_ request: Request, context: Context) async throws -> HTTPFields {
        let decision = await limiter.check(policy.name + ":" + key(request, context), policy: policy)
        var headers = HTTPFields()
        let name = policy.name
        headers[Self.policyHeader] = "\"\(name)\";q=\(policy.quota);w=\(policy.window.inSecondsRoundedUp)"
        headers[Self.stateHeader] = "\"\(name)\";r=\(decision.remaining);t=\(decision.reset.inSecondsRoundedUp)"
        guard decision.allowed else {
            let wait = max(1, Int(decision.retryAfter.inSecondsRoundedUp))
            headers[.retryAfter] = String(wait)
            throw RateLimitedError(policy: name, retryAfterSeconds: wait, headers: headers)
        }
        return headers
    }

    public static var policyHeader: HTTPField.Name { HTTPField.Name("RateLimit-Policy")! }
    public static var stateHeader: HTTPField.Name { HTTPField.Name("RateLimit")! }
}

/// A request refused by a rate limit, with the headers its response must carry
/// (`Retry-After` and the limit's state).
public struct RateLimitedError: Error, Sendable {
    public let policy: String
    public let retryAfterSeconds: Int
    public let headers: HTTPFields
}
