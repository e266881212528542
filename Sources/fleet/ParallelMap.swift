/// Runs `body` for each of 0..<count, at most `parallelism` at a time, and returns the
/// results in index order; the first error cancels the rest and is thrown. For setup and
/// verification work that must not flood the target.
@discardableResult
func parallelMap<T: Sendable>(_ count: Int, parallelism: Int, _ body: @escaping @Sendable (Int) async throws -> T) async throws -> [T] {
    try await withThrowingTaskGroup(of: (Int, T).self) { group in
        var results = [T?](repeating: nil, count: count)
        var next = 0
        func start() {
            let index = next
            group.addTask { (index, try await body(index)) }
            next += 1
        }
        while next < min(max(1, parallelism), count) { start() }
        while let (index, result) = try await group.next() {
            results[index] = result
            if next < count { start() }
        }
        return results.compactMap { $0 }
    }
}
