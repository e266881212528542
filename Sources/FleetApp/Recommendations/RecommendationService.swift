public import FleetData

/// `GET /api/articles/recommended`: the recommender's picks for a signed-in reader, or
/// popular articles whenever it cannot give them (anonymous reader, no recommender
/// configured, a timeout, an error, its breaker open, its bulkhead full, nothing to
/// recommend yet). A recommendation never fails because of the recommender: the reader
/// gets popular articles, and the source says why.
public struct RecommendationService: Sendable {
    let services: ConduitServices

    /// A page of recommended articles (the Conduit list shape) and where it came from.
    public struct Recommended: Sendable {
        public var page: ArticlePage
        public var source: RecommendationSource
    }

    public func recommended(for viewer: FleetID?, limit: Int) async throws -> Recommended {
        let recommending = services.recommending
        let reason: RecommendationSource.Reason
        if let viewer, let client = recommending.client {
            do {
                let ids = try await client.recommend(for: viewer, limit: limit)
                if ids.isEmpty {
                    reason = .empty
                } else {
                    return try await answer(ids, viewer: viewer, source: .personal)
                }
            } catch {
                reason = RecommendationSource.Reason(error)
                services.logger.debug("no personal recommendations", metadata: ["reason": "\(reason.rawValue)", "error": "\(error)"])
            }
        } else {
            reason = viewer == nil ? .anonymous : .unconfigured
        }
        let popular = try await recommending.popular.ids(in: services.shards, now: services.now())
        return try await answer(Array(popular.prefix(limit)), viewer: viewer, source: .popular(reason))
    }

    private func answer(_ ids: [Int64], viewer: FleetID?, source: RecommendationSource) async throws -> Recommended {
        let articles = try await services.articles.listed(ids, viewer: viewer)
        services.recommending.count(source)
        return Recommended(page: ArticlePage(articles: articles, articlesCount: articles.count), source: source)
    }
}
