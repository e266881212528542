import FleetSupport
import Logging
import ServiceLifecycle

/// Deletes idempotency keys past their lifetime (`KeyedWrite.expire`) every `interval`,
/// in each process that runs jobs: the same processes that delete finished jobs. Two
/// processes doing it at once delete the same rows, which is harmless.
struct KeyedWriteRetention: Service {
    let shards: Shards
    var interval: Duration = .seconds(600)
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await KeyedWrite.expire(in: shards, now: WallClock.milliseconds())
                } catch {
                    logger.warning("could not delete expired idempotency keys; trying again later", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
