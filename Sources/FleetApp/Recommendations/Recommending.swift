import FleetResilience
import Logging
import Metrics

/// What the API keeps, once per process, to recommend articles: the recommender's client
/// (nil when `recommender.url` is unset), the popular fallback, and the
/// `fleet.recommendations` counters (`source` = personal or popular, `reason`).
public struct Recommending: Sendable {
    /// A `Service` of the API: run it, or every call fails (and falls back).
    public let client: RecommenderClient?
    let popular: PopularArticles
    private let counters: [RecommendationSource: Counter]

    init(client: RecommenderClient?, logger: Logger) {
        self.client = client
        popular = PopularArticles(logger: logger)
        counters = Dictionary(uniqueKeysWithValues: RecommendationSource.all.map { source in
            (source, Counter(label: "fleet.recommendations", dimensions: [("source", source.labels.source), ("reason", source.labels.reason)]))
        })
    }

    /// `breakers`: the process's registry, where readiness lists the client's breaker and
    /// operators force it (`recommender`).
    static func make(_ settings: RecommenderSettings, breakers: CircuitBreakers?, logger: Logger) -> Recommending {
        Recommending(client: settings.url.map { RecommenderClient(settings, url: $0, breakers: breakers, logger: logger) }, logger: logger)
    }

    /// Counts one answer.
    func count(_ source: RecommendationSource) {
        counters[source]?.increment()
    }
}
