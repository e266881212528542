public import ServiceLifecycle

extension SQLiteDatabase: Service {
    /// Times out the waits for a connection (`AsyncPool.run()`) until graceful shutdown:
    /// one sleeping loop per pool rather than a timer per wait.
    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.writer.run() }
                group.addTask { await self.readers.run() }
            }
        }
    }
}
