public import FleetRateLimit
import HTTPTypes
public import Hummingbird

/// Applies a rate limit to each request that `rule` assigns one, and tells the client
/// where it stands with the IETF headers (`RateLimit-Policy: "reads";q=600;w=60` and
/// `RateLimit: "reads";r=599;t=1`). A refused request gets 429, `Retry-After`, and the
/// error in the API's shape.
public struct RateLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    /// What limits a request: the policy, and whose quota it counts against.
    public struct Rule: Sendable {
        public var policy: RateLimitPolicy
        public var key: String

        public init(policy: RateLimitPolicy, key: String) {
            self.policy = policy
            self.key = key
        }
    }

    let limiter: any RateLimiter
    let rule: @Sendable (Request, Context) -> Rule?

    public init(limiter: any RateLimiter, rule: @escaping @Sendable (Request, Context) -> Rule?) {
        self.limiter = limiter
        self.rule = rule
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let rule = rule(request, context) else { return try await next(request, context) }
        let decision = await limiter.check(rule.policy.name + ":" + rule.key, policy: rule.policy)
        var headers = HTTPFields()
        let name = rule.policy.name
        headers[Self.policyHeader] = "\"\(name)\";q=\(rule.policy.quota);w=\(Self.seconds(rule.policy.window))"
        headers[Self.stateHeader] = "\"\(name)\";r=\(decision.remaining);t=\(Self.seconds(decision.reset))"
        guard decision.allowed else {
            let wait = max(1, Self.seconds(decision.retryAfter))
            headers[.retryAfter] = String(wait)
            throw APIError(.tooManyRequests, field: "body", "too many requests: retry in \(wait) s", headers: headers)
        }
        do {
            var response = try await next(request, context)
            response.headers.append(contentsOf: headers)
            return response
        } catch {
            // Error responses count against the quota too, so they carry the headers.
            var apiError = ErrorMiddleware<Context>.apiError(for: error, logger: context.logger)
            apiError.headers.append(contentsOf: headers)
            throw apiError
        }
    }

    /// Whole seconds, rounded up: a client that waits this long is never early.
    static func seconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return attoseconds > 0 ? seconds + 1 : seconds
    }

    static var policyHeader: HTTPField.Name { HTTPField.Name("RateLimit-Policy")! }
    static var stateHeader: HTTPField.Name { HTTPField.Name("RateLimit")! }
}
