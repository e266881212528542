import FleetCache

extension ConduitCaches {
    /// Every cache's lookups so far, by namespace (for the ops page).
    var stats: [(cache: String, stats: CacheStats)] {
        [
            (articles.namespace, articles.stats), (users.namespace, users.stats), (usernames.namespace, usernames.stats),
            (tags.namespace, tags.stats), (lists.namespace, lists.stats), (favoritedLists.namespace, favoritedLists.stats),
        ]
    }
}
