import FleetHTTP
import FleetObservability
import Hummingbird
import Logging
import Prometheus

extension FleetApplication {
    /// The recommender role's listener (`fleet recommender`), on `recommender.host:port`:
    /// `/recommendations` (`RecommenderRoutes`), `/health/live`, `/health/ready` and
    /// `/metrics`, like a worker's admin listener. It holds no state of its own (the model
    /// is in the database), so instances are added and removed freely behind the URL the
    /// API calls.
    static func recommenderServer(
        _ settings: FleetSettings, services: ConduitServices, metrics: PrometheusCollectorRegistry, health: HealthChecks, logger: Logger
    ) -> Application<RouterResponder<BasicRequestContext>> {
        let router = Router()
        if settings.tracing.enabled { router.add(middleware: tracing()) }
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: ErrorMiddleware(ConduitErrorResponder()))
        OperationalRoutes.addMetrics(to: router, metrics: metrics)
        OperationalRoutes.addHealth(to: router, health: health)
        RecommenderRoutes.add(to: router, model: RecommendationModel(shards: services.shards))
        return Application(
            router: router,
            configuration: .init(address: .hostname(settings.recommender.host, port: settings.recommender.port), serverName: "fleet-recommender"),
            onServerRunning: { channel in
                logger.notice("the recommender is serving", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
            },
            logger: logger
        )
    }
}
