import FleetSupport
import Foundation

/// The Conduit operations a load test sends, by the names `--mix` and the report use.
enum ConduitOperation: String, CaseIterable, Sendable {
    /// GET /api/articles: global, by tag or by author (a third each).
    case list
    /// GET /api/articles/:slug, Zipf-popular.
    case article
    /// GET /api/articles/:slug/comments.
    case comments
    /// GET /api/articles/feed, signed in.
    case feed
    /// GET /api/articles/recommended, signed in: the recommender, or popular articles when
    /// it is slow, failing or gone.
    case recommended
    /// GET /api/profiles/:username.
    case profile
    /// GET /api/tags.
    case tags
    /// POST /api/articles.
    case createArticle = "create-article"
    /// POST /api/articles/:slug/comments.
    case comment
    /// POST or DELETE /api/articles/:slug/favorite (whichever changes the state).
    case favorite
    /// POST /api/profiles/:username/follow.
    case follow
    /// POST /api/users/login: bcrypt makes each one cost a core for a while.
    case signin
}

/// How often each operation is picked: weights, not percentages (they need not add up to
/// 100). Reads dominate, as on a real publishing site; sign-ins are rare because each costs
/// a bcrypt hash.
struct LoadTestMix: Sendable, CustomStringConvertible {
    let weights: [(operation: ConduitOperation, weight: Int)]
    private let cumulative: [Int]

    static let standard = "list=20,article=35,comments=10,feed=10,recommended=3,profile=5,tags=5,create-article=3,comment=5,favorite=4,follow=2,signin=1"

    /// Parses `name=weight,...`; operations not named are not sent.
    init(parsing text: String) throws(LoadTestError) {
        var weights: [(operation: ConduitOperation, weight: Int)] = []
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=").map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, let weight = Int(pair[1]), weight >= 0 else {
                throw LoadTestError(.invalidOption, "--mix entry '\(part)' is not NAME=WEIGHT")
            }
            guard let operation = ConduitOperation(rawValue: pair[0]) else {
                throw LoadTestError(
                    .invalidOption, "--mix names '\(pair[0])'; operations are \(ConduitOperation.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            if weight > 0 { weights.append((operation: operation, weight: weight)) }
        }
        guard !weights.isEmpty else { throw LoadTestError(.invalidOption, "--mix needs at least one operation with a positive weight") }
        self.weights = weights
        var total = 0
        cumulative = weights.map { entry in
            total += entry.weight
            return total
        }
    }

    func pick(using rng: inout some RandomNumberGenerator) -> ConduitOperation {
        let draw = Int.random(in: 0..<(cumulative.last ?? 1), using: &rng)
        let index = cumulative.firstIndex { draw < $0 } ?? 0
        return weights[index].operation
    }

    var description: String { weights.map { "\($0.operation.rawValue)=\($0.weight)" }.joined(separator: ",") }
}
