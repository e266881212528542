/// Merges lists that are each sorted from largest to smallest into one such list,
/// stopping after `limit` items: the k-way merge of a scatter-gather, where each shard
/// returns its own newest rows.
public func mergeDescending<Element: Comparable>(_ lists: [[Element]], limit: Int) -> [Element] {
    var heads = [Int](repeating: 0, count: lists.count)
    var merged: [Element] = []
    merged.reserveCapacity(min(limit, lists.reduce(0) { $0 + $1.count }))
    while merged.count < limit {
        // Shards are few: scanning the heads beats maintaining a heap.
        var best: Int?
        for list in lists.indices where heads[list] < lists[list].count {
            if let current = best, lists[current][heads[current]] >= lists[list][heads[list]] { continue }
            best = list
        }
        guard let best else { break }
        merged.append(lists[best][heads[best]])
        heads[best] += 1
    }
    return merged
}
