import FleetHTTP
import Hummingbird

extension ConduitRoutes {
    /// `GET /api/articles/recommended?limit=`, an extension beyond the Conduit spec: the
    /// multiple-articles shape, with `X-Fleet-Recommendations` saying where the articles
    /// came from (`personal`, or `popular; reason=…`). A reader may be signed in or not.
    func addRecommendations(_ routes: Classes) {
        let recommendations = services.recommendations
        routes.read.get("articles/recommended") { request, context in
            var validator = Validator()
            let limit = PageParameters.parse("limit", request, default: 20, range: 1...Rules.maxLimit, into: &validator)
            try validator.check()
            let recommended = try await recommendations.recommended(for: context.viewer, limit: limit)
            return EditedResponse(
                headers: [RecommendationSource.headerName: recommended.source.header],
                response: ArticlesResponse(page: recommended.page)
            )
        }
    }
}
