import FleetData

/// The users an article filter names, resolved to ids: the author, the articles a user
/// favorited, the authors a viewer follows. It tells which physical shards can hold a
/// match, and what each of them should look for.
struct PageScope: Sendable {
    var author: FleetID?
    var articles: [FleetID]?
    var authors: [FleetID]?

    /// The physical shards that can hold a match, in order; none when a list is empty.
    func shards(in shards: Shards) -> [Int] {
        var candidates = Set(shards.nodes.indices)
        if let author { candidates.formIntersection([shards.physical(for: author.shard)]) }
        if let articles { candidates.formIntersection(articles.map { shards.physical(for: $0.shard) }) }
        if let authors { candidates.formIntersection(authors.map { shards.physical(for: $0.shard) }) }
        return candidates.sorted()
    }

    /// The part of this scope that lives on one physical shard.
    func on(_ physical: Int, of shards: Shards) -> PageScope {
        var scope = self
        scope.articles = articles?.filter { shards.physical(for: $0.shard) == physical }
        scope.authors = authors?.filter { shards.physical(for: $0.shard) == physical }
        return scope
    }
}
