import FleetCache
import FleetSupport
import Foundation
public import ServiceLifecycle
import Synchronization

extension OpsBoard: Service {
    /// Takes a sample for the sparklines every `sampleInterval` (and publishes this
    /// instance's heartbeat to Redis, when there is one) until shutdown.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var sampler = OpsSampler()
            while !Task.isCancelled {
                await self.sample(with: &sampler)
                try? await Task.sleep(for: self.sampleInterval)
            }
        }
    }

    /// Appends one point to the history.
    func sample(with sampler: inout OpsSampler) async {
        let now = WallClock.milliseconds()
        let (routes, traffic) = traffic()
        let (queues, _) = await queueStats()
        let caches = services.caches.stats.map(\.stats)
        let totals = OpsSampler.Totals(
            at: now, routes: Dictionary(uniqueKeysWithValues: routes.map { ($0.route, (requests: $0.totalRequests, serverErrors: $0.totalServerErrors)) }),
            cacheLookups: caches.reduce(0) { $0 + $1.l1.hits + $1.l1.misses },
            cacheHits: caches.reduce(0) { $0 + $1.l1.hits + $1.l2.hits }
        )
        let point = sampler.sample(totals, p99: traffic.p99, queueDepth: queues.reduce(0) { $0 + $1.depth }, inFlight: limiter?.current.inFlight ?? 0)
        history.append(point)
        var me = identity
        me.lastSeen = now
        me.rate = traffic.rate
        me.p99 = traffic.p99
        me.errorRate = traffic.errorRate
        await publishHeartbeat(me)
    }
}
