import FleetSupport
import CoreMetrics
import Metrics

/// The jobs system's metrics, named after OpenTelemetry's messaging conventions where
/// they have a name (`messaging.client.consumed.messages`, `messaging.process.duration`,
/// with `messaging.system` and `messaging.destination.name`) and `fleet.jobs.*` where they
/// do not (queue depth and age, the wait from ready to started).
struct JobMetrics: Sendable {
    static let system = ("messaging.system", "fleet")
    let factory: any MetricsFactory

    /// A finished run, by how it ended: completed, snoozed, retried, dead, lease_lost,
    /// released (shut down before it finished).
    func finished(_ job: ClaimedJob, outcome: String, duration: Duration) {
        let dimensions = [Self.system, ("messaging.destination.name", job.queue), ("messaging.operation.name", "process"), ("fleet.job.name", job.name)]
        Counter(label: "messaging.client.consumed.messages", dimensions: dimensions + [("fleet.job.outcome", outcome)], factory: factory).increment()
        Timer(label: "messaging.process.duration", dimensions: dimensions, preferredDisplayUnit: .seconds, factory: factory)
            .recordNanoseconds(duration.inNanoseconds)
    }

    /// A job started `delay` after it became ready.
    func started(_ job: ClaimedJob, delay: Duration) {
        Timer(label: "fleet.jobs.start.delay", dimensions: [Self.system, ("messaging.destination.name", job.queue)], preferredDisplayUnit: .seconds, factory: factory)
            .recordNanoseconds(delay.inNanoseconds)
    }

    /// The queues' figures, summed over every database (what autoscaling and alerts read).
    func report(_ stats: [QueueStats], now: Int64) {
        for queue in stats {
            let dimensions = [Self.system, ("messaging.destination.name", queue.queue)]
            Gauge(label: "fleet.jobs.ready", dimensions: dimensions, factory: factory).record(queue.ready)
            Gauge(label: "fleet.jobs.scheduled", dimensions: dimensions, factory: factory).record(queue.scheduled)
            Gauge(label: "fleet.jobs.running", dimensions: dimensions, factory: factory).record(queue.running)
            Gauge(label: "fleet.jobs.dead", dimensions: dimensions, factory: factory).record(queue.dead)
            Gauge(label: "fleet.jobs.oldest_ready.age", dimensions: dimensions, factory: factory).record(queue.oldestReadyAge(now: now))
        }
    }
}
