import FleetData
import FleetHTTP
import FleetSupport
import Hummingbird

/// What the recommender role answers: `GET /recommendations?user=<id>&limit=<n>` →
/// `{"articles": ["<id>", ...], "computed": "co-favorites"}` (ids as strings: JavaScript
/// reads JSON numbers as doubles, exact only to 2^53 − 1), from the model on shard 0.
enum RecommenderRoutes {
    static func add(to router: Router<BasicRequestContext>, model: RecommendationModel) {
        router.get("/recommendations") { request, _ -> RecommendationsResponse in
            // For tests: a recommender that fails every request (a 500), alive and ready.
            if Failpoint.isArmed("recommender.error") { throw HTTPError(.internalServerError) }
            let query = request.uri.queryParameters
            guard let user = query.get("user").flatMap({ Int64($0) }), user > 0 else {
                throw HTTPError(.badRequest, message: "user must be a user id")
            }
            let limit = query.get("limit").map { Int($0) } ?? 20
            guard let limit, (1...Rules.maxLimit).contains(limit) else {
                throw HTTPError(.badRequest, message: "limit must be an integer from 1 to \(Rules.maxLimit)")
            }
            return RecommendationsResponse(ids: try await model.recommend(for: FleetID(rawValue: user), limit: limit))
        }
    }
}

/// The recommender's answer.
struct RecommendationsResponse: JSONResponse {
    let ids: [Int64]

    func write(to json: inout JSONWriter) {
        json.object { json in
            json.key("articles")
            json.array(ids) { json, id in json.value(String(id)) }
            json.field("computed", "co-favorites")
        }
    }
}
