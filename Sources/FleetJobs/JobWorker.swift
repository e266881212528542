public import FleetData
import FleetSupport
public import Logging
public import ServiceLifecycle
public import CoreMetrics
import Synchronization

/// Runs the jobs of its queues from every database it is given (each shard's primary),
/// as a `Service`.
///
/// Each queue has a loop that claims as many ready jobs as it has free slots (its
/// concurrency in this process), runs each under a lease that a heartbeat renews, and
/// sleeps until a wake-up (a job enqueued in this process, a NOTIFY from PostgreSQL, a
/// slot freed) or the poll interval. A maintenance loop releases expired leases, reports
/// the queues' figures and deletes finished jobs past their retention.
///
/// On graceful shutdown the loops stop claiming, running jobs get `grace` to finish, and
/// those still running are cancelled and their leases released (without spending an
/// attempt), so another worker takes them at once: nothing is lost, and nothing that
/// finished runs again.
public final class JobWorker: Service {
    let databases: [any Database]
    let handlers: JobHandlers
    let configuration: JobWorkerConfiguration
    let logger: Logger
    let store = JobStore()
    let metrics: JobMetrics
    private let wakeups: [String: Wakeup]
    private let draining = Atomic<Bool>(false)

    /// - Parameter metrics: where the metrics go (the bootstrapped system's by default).
    public init(
        databases: [any Database], handlers: JobHandlers, configuration: JobWorkerConfiguration, logger: Logger,
        metrics: any MetricsFactory = MetricsSystem.factory
    ) {
        self.databases = databases
        self.metrics = JobMetrics(factory: metrics)
        self.handlers = handlers
        self.configuration = configuration
        self.logger = logger
        self.wakeups = Dictionary(uniqueKeysWithValues: configuration.queues.keys.map { ($0, Wakeup()) })
    }

    /// Wakes the loop of `queue`: a job was just enqueued where this process sees it.
    public func notify(queue: String) {
        wakeups[queue]?.signal()
    }

    public func run() async throws {
        logger.notice(
            "job worker is running",
            metadata: ["queues": "\(configuration.queues.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: ","))"]
        )
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    await withTaskGroup(of: Void.self) { queues in
                        for (queue, concurrency) in self.configuration.queues {
                            queues.addTask { await self.runQueue(queue, concurrency: concurrency) }
                        }
                    }
                }
                group.addTask { await self.maintain() }
                for node in databases where node.dialect == .postgres && self.configuration.listen {
                    group.addTask { await self.listen(to: node) }
                }
                // The queues return once drained; the rest runs until then.
                await group.next()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.draining.store(true, ordering: .relaxed)
            for wakeup in self.wakeups.values { wakeup.signal() }
        }
        logger.notice("job worker stopped")
    }

    private var isStopping: Bool { draining.load(ordering: .relaxed) || Task.isCancelled }

    /// Claims and runs the jobs of one queue until shutdown, then drains.
    private func runQueue(_ queue: String, concurrency: Int) async {
        guard let wakeup = wakeups[queue] else { return }
        let running = RunningCount()
        var cursor = 0
        await withDiscardingTaskGroup { group in
            while !isStopping {
                var free = concurrency - running.value
                var claimed = 0
                var failed = false
                for offset in databases.indices where free > 0 {
                    let node = databases[(cursor + offset) % databases.count]
                    do {
                        let jobs = try await store.claim(
                            queue: queue, limit: free, lease: configuration.lease, now: WallClock.microseconds(), in: node
                        )
                        for job in jobs {
                            running.add(1)
                            group.addTask {
                                await self.execute(job, on: node)
                                running.add(-1)
                                wakeup.signal()
                            }
                        }
                        free -= jobs.count
                        claimed += jobs.count
                    } catch {
                        failed = true
                        logger.warning("cannot claim jobs", metadata: ["queue": "\(queue)", "error": "\(error)"])
                    }
                }
                cursor &+= 1
                if claimed == 0 || free <= 0 || failed { await wakeup.wait(timeout: configuration.pollInterval) }
            }
            // Draining: running jobs get the grace period, then are cancelled (`execute`
            // releases their leases).
            let deadline = ContinuousClock.now + configuration.grace
            while running.value > 0, ContinuousClock.now < deadline, !Task.isCancelled {
                await wakeup.wait(timeout: min(deadline - .now, .milliseconds(100)))
            }
            if running.value > 0 {
                logger.warning("jobs still running after the grace period are released", metadata: ["queue": "\(queue)", "jobs": "\(running.value)"])
            }
            group.cancelAll()
        }
    }

    /// Turns PostgreSQL's notifications of ready jobs into wake-ups, reconnecting after a
    /// failure (polling covers what is missed meanwhile).
    private func listen(to node: any Database) async {
        while !Task.isCancelled {
            do {
                try await node.listen(on: JobStore.channel) { [weak self] queue in self?.notify(queue: queue) }
                return
            } catch {
                if Task.isCancelled { return }
                logger.debug("job notifications interrupted; listening again", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}

/// How many jobs of a queue are running.
private final class RunningCount: Sendable {
    private let count = Mutex(0)
    var value: Int { count.withLock { $0 } }
    func add(_ delta: Int) { count.withLock { $0 += delta } }
}
