/// Physical databases (each a `Database`: a file, a server, or a primary with replicas)
/// holding the 1024 logical shards as `ShardMap` says.
///
/// A row lives on the shard of the `FleetID` that owns it, so a call that concerns one
/// user or one article goes straight to one node (`node(for:)`). Calls that concern
/// everything (the global list, tags) go to every node at once with `scatter`, each node
/// bounded by `timeout`: a node that is down fails the calls that need it, quickly and
/// with its name, and no others.
///
/// With one physical shard, every logical shard maps to it and nothing is scattered.
public final class ShardedDatabase<Node: Database>: Sendable {
    public let nodes: [Node]
    public let map: ShardMap
    /// How long each node may take in a scatter-gather before the call fails.
    public let timeout: Duration

    public init(nodes: [Node], map: ShardMap, timeout: Duration = .seconds(2)) {
        precondition(!nodes.isEmpty && map.physicalCount == nodes.count, "the shard map must span exactly the nodes")
        self.nodes = nodes
        self.map = map
        self.timeout = timeout
    }

    /// One node and no sharding.
    public convenience init(_ node: Node) {
        self.init(nodes: [node], map: ShardMap(evenlyOver: 1))
    }

    public var dialect: SQLDialect { nodes[0].dialect }

    /// The physical shard holding a logical shard.
    public func physical(for shard: LogicalShard) -> Int { map.physical(for: shard) }

    /// The node holding a logical shard.
    public func node(for shard: LogicalShard) -> Node { nodes[map.physical(for: shard)] }

    /// The node holding what `id` names.
    public func node(for id: FleetID) -> Node { node(for: id.shard) }

    /// Items grouped by the physical shard that holds them, in shard order.
    public func partition<Item>(_ items: some Sequence<Item>, by id: (Item) -> FleetID) -> [(physical: Int, items: [Item])] {
        var groups: [Int: [Item]] = [:]
        for item in items { groups[map.physical(for: id(item).shard), default: []].append(item) }
        return groups.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Runs `body` on each of the `physical` shards (all by default) at once and returns
    /// the results in the same order. A node that fails, or does not answer within
    /// `timeout`, fails the whole call with an error that names it; a single node is
    /// called directly.
    public func scatter<Result: Sendable>(
        _ physical: [Int]? = nil, _ body: @escaping @Sendable (_ physical: Int, _ node: Node) async throws -> Result
    ) async throws -> [Result] {
        try await gather(physical, tolerating: false, body).results
    }

    /// Like `scatter`, but a node that is unavailable (down, or past `timeout`) is left out
    /// instead of failing the call: the results of the nodes that answered, and the
    /// physical shards that did not. Fails only when none answered. For lists where an
    /// answer missing one shard's part beats no answer (the caller says so to its client).
    public func scatterAvailable<Result: Sendable>(
        _ physical: [Int]? = nil, _ body: @escaping @Sendable (_ physical: Int, _ node: Node) async throws -> Result
    ) async throws -> (results: [Result], missing: [Int]) {
        try await gather(physical, tolerating: true, body)
    }

    private func gather<Result: Sendable>(
        _ physical: [Int]?, tolerating: Bool, _ body: @escaping @Sendable (_ physical: Int, _ node: Node) async throws -> Result
    ) async throws -> (results: [Result], missing: [Int]) {
        let targets = physical ?? Array(nodes.indices)
        // Nothing to ask (a batch of no ids): no answer is missing.
        if targets.isEmpty { return ([], []) }
        if targets.count == 1, let only = targets.first { return ([try await body(only, nodes[only])], []) }
        let nodes = self.nodes
        let timeout = self.timeout
        let answers = try await withThrowingTaskGroup(of: (Int, Result?).self) { group in
            for (position, index) in targets.enumerated() {
                group.addTask {
                    do {
                        return (position, try await withTimeout(timeout) { try await body(index, nodes[index]) })
                    } catch let error as DatabaseError where error.isUnavailable {
                        if tolerating { return (position, nil) }
                        throw DatabaseError.unavailable("shard \(index): \(error)")
                    }
                }
            }
            var answers = [Result?](repeating: nil, count: targets.count)
            for try await (position, result) in group { answers[position] = result }
            return answers
        }
        let missing = zip(targets, answers).filter { $0.1 == nil }.map(\.0)
        guard missing.count < targets.count else { throw DatabaseError.unavailable("shards \(missing): none answered") }
        return (answers.compactMap { $0 }, missing)
    }

    /// Runs `body`, or fails with `DatabaseError.unavailable` once it has taken longer than
    /// `timeout`: for work that spans shards outside a scatter.
    public func bounded<Result: Sendable>(_ body: @escaping @Sendable () async throws -> Result) async throws -> Result {
        try await withTimeout(timeout, body)
    }

    /// Closes every node.
    public func close() async {
        for node in nodes { await node.close() }
    }
}
