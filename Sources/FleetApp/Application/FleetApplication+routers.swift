import FleetData
import FleetHTTP
import FleetObservability
import FleetRateLimit
import FleetResilience
import Hummingbird
import Prometheus

extension FleetApplication {
    /// The public router. A request passes (tracing) → request id → metrics → (access log) → CORS →
    /// error rendering → client address → body limit, then the health routes or the API:
    /// load shedding → `Cache-Status` → authentication → (read-your-writes) → its route's rate-limit
    /// class → handler. CORS sits outside error rendering, so that every error response
    /// carries its headers like any other.
    /// - Parameters:
    ///   - recorder: counts requests by route for the ops page (after metrics, outside
    ///     error rendering, like them).
    ///   - limiter: the load-shedding limit (`http.shedding.*`), nil when off.
    static func apiRouter(
        services: ConduitServices, settings: FleetSettings, health: HealthChecks, redis: RedisServices?, recorder: RouteRecorder?,
        limiter: AdaptiveLimiter?
    ) -> Router<ConduitContext> {
        let router = Router(context: ConduitContext.self)
        // Outermost, so that the span sees the status the client gets (errors are rendered
        // inside it) and every log line of the request carries its trace id.
        if settings.tracing.enabled { router.add(middleware: tracing()) }
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: MetricsMiddleware())
        if let recorder { router.add(middleware: RouteRecordingMiddleware(recorder)) }
        if settings.accessLog { router.add(middleware: LogRequestsMiddleware(.info)) }
        router.add(
            middleware: CrossOriginMiddleware(
                allowHeaders: [
                    .contentType, .authorization, RequestIDMiddleware<ConduitContext>.headerName, .traceparent, .tracestate, IdempotencyKey.headerName,
                ],
                allowMethods: [.get, .post, .put, .delete, .options],
                exposeHeaders: [
                    .retryAfter, .wwwAuthenticate, RateLimitMiddleware<ConduitContext>.policyHeader, RateLimitMiddleware<ConduitContext>.stateHeader,
                    CacheStatusMiddleware.headerName, RequestIDMiddleware<ConduitContext>.headerName, RecommendationSource.headerName,
                    ArticlesResponse.partialHeader,
                ],
                maxAge: .seconds(3600)
            )
        )
        router.add(middleware: ErrorMiddleware(ConduitErrorResponder()))
        router.add(middleware: ClientAddressMiddleware(ClientAddressResolver(trustedProxies: settings.trustedProxies)))
        router.add(middleware: BodyLimitMiddleware(maxBytes: settings.bodyLimitBytes))
        OperationalRoutes.addHealth(to: router, health: health)
        let api = router.group("api")
        if let limiter {
            api.add(middleware: LoadSheddingMiddleware(limiter: limiter, isDependencyFailure: isDependencyFailure))
        }
        api.add(middleware: CacheStatusMiddleware())
            .add(middleware: AuthenticationMiddleware(services: services))
        if settings.shardNodes.contains(where: { !$0.replicaURLs.isEmpty }) {
            // Positions live for the lag bound and a margin: then every replica in use has them.
            let lifetime = settings.databaseReplicaMaxLag + .seconds(1)
            let positions: any WritePositions = redis.map { RedisWritePositions(redis: $0.client, lifetime: lifetime, logger: services.logger) }
                ?? LocalWritePositions(lifetime: lifetime)
            api.add(middleware: ReadYourWritesMiddleware(positions: positions))
        }
        let limits = settings.rateLimitEnabled
            ? RateLimits(settings: settings, limiter: redis.map { RedisRateLimiter(redis: $0.client, logger: services.logger) } ?? LocalRateLimiter())
            : nil
        ConduitRoutes(services: services, limits: limits).add(to: api)
        return router
    }

    /// A server span per request (W3C `traceparent` and `tracestate` taken from the request),
    /// named after the route's template; health probes are not traced.
    static func tracing<Context: RequestContext>() -> ExceptPathsMiddleware<TracingMiddleware<Context>> {
        ExceptPathsMiddleware(TracingMiddleware(), except: ["/health"])
    }

    /// Whether an error says a dependency is failing (the request's work did not get done
    /// for lack of capacity below us), which lowers the shedding limit.
    @Sendable static func isDependencyFailure(_ error: any Error) -> Bool {
        switch error {
        case let error as DatabaseError: error.isUnavailable
        case is CircuitBreakerError, is BulkheadError: true
        default: false
        }
    }

    /// The admin router: metrics, the ops page, and what an operator does to a running
    /// fleet; also the health routes when given (a worker has no other listener).
    static func adminRouter(
        services: ConduitServices, metrics: PrometheusCollectorRegistry, health: HealthChecks?, breakers: CircuitBreakers, ops: OpsBoard?
    ) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: ErrorMiddleware(ConduitErrorResponder()))
        OperationalRoutes.addMetrics(to: router, metrics: metrics)
        if let ops { OpsRoutes(board: ops).add(to: router) }
        if let health { OperationalRoutes.addHealth(to: router, health: health) }
        // Revokes every token of a user at once, on every instance.
        router.post("/admin/users/:username/revoke-tokens") { _, context -> HTTPResponse.Status in
            guard try await services.users.revokeTokens(of: try context.parameters.require("username")) else {
                throw ConduitError.notFound("profile")
            }
            return .noContent
        }
        // Forces a circuit breaker open or closed (`?state=open|closed`), or lifts the
        // override (`?state=auto`): for an operator who knows better than the counts.
        router.post("/admin/breakers/:name") { request, context -> HTTPResponse.Status in
            let name = try context.parameters.require("name")
            let phase: CircuitBreaker.Phase?
            switch request.uri.queryParameters.get("state") {
            case "open": phase = .forcedOpen
            case "closed": phase = .forcedClosed
            case "auto": phase = nil
            default: throw ConduitError(.invalid, field: "state", "must be open, closed or auto")
            }
            guard breakers.force(name, phase) else { throw ConduitError.notFound("breaker") }
            return .noContent
        }
        return router
    }
}
