import FleetData
import FleetSupport
import Tracing

extension JobWorker {
    /// How a handler's run ended.
    private enum Run: Sendable {
        case finished(Result<JobOutcome, any Error>)
        /// The heartbeat found the job taken back: the handler was cancelled.
        case leaseLost
    }

    /// Runs one claimed job and records how it ended, fenced by its lease.
    ///
    /// With tracing on, the run is a consumer span in the trace of the span that enqueued
    /// the job (its child, and linked to it), whatever process runs it.
    func execute(_ job: ClaimedJob, on node: any Database) async {
        let started = ContinuousClock.now
        metrics.started(job, delay: .microseconds(max(0, WallClock.microseconds() - job.runAt)))
        let entry = handlers.entry(for: job.name)
        let producer = job.trace.serviceContext
        let run = await withSpan("\(job.name) process", context: producer ?? .topLevel, ofKind: .consumer) { span in
            if span.isRecording {
                if let producer { span.addLink(SpanLink(context: producer, attributes: [:])) }
                span.updateAttributes { attributes in
                    attributes["messaging.system"] = "fleet"
                    attributes["messaging.operation.type"] = "process"
                    attributes["messaging.destination.name"] = job.queue
                    attributes["messaging.message.id"] = String(job.id)
                    attributes["fleet.job.name"] = job.name
                    attributes["fleet.job.attempt"] = job.attempt
                }
            }
            let run = await runWithHeartbeat(job, on: node)
            if case .finished(.failure(let error)) = run { span.recordError(error) }
            return run
        }
        let stopping = Task.isCancelled
        // Recorded even when the worker is being cancelled: an unstructured task does not
        // inherit the cancellation, and the record is what keeps the job from running twice.
        let outcome = await Task {
            await self.record(run, of: job, retry: entry?.retry ?? RetryPolicy(), stopping: stopping, on: node)
        }.value
        metrics.finished(job, outcome: outcome, duration: .now - started)
    }

    private func runWithHeartbeat(_ job: ClaimedJob, on node: any Database) async -> Run {
        await withTaskGroup(of: Run?.self) { group in
            group.addTask {
                do {
                    return .finished(.success(try await self.handlers.run(job)))
                } catch {
                    return .finished(.failure(error))
                }
            }
            group.addTask { await self.heartbeat(job, on: node) }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? .finished(.failure(CancellationError()))
        }
    }

    /// Renews the lease every heartbeat until cancelled; returns `.leaseLost` when the
    /// job is no longer this worker's (it stalled past its lease and another took it).
    private func heartbeat(_ job: ClaimedJob, on node: any Database) async -> Run? {
        while true {
            do {
                try await Task.sleep(for: configuration.heartbeat)
            } catch {
                return nil
            }
            do {
                try await store.renew(job, lease: configuration.lease, now: WallClock.microseconds(), in: node)
            } catch let error as JobError where error.code == .leaseLost {
                logger.warning("job lease lost while running; its handler is cancelled", metadata: ["job": "\(job.id)", "name": "\(job.name)"])
                return .leaseLost
            } catch {
                // The database is unreachable for now: the next beat tries again, and if the
                // lease expires meanwhile the fence stops this worker from finishing the job.
                logger.warning("cannot renew a job's lease", metadata: ["job": "\(job.id)", "error": "\(error)"])
            }
        }
    }

    /// Stores how the run ended; returns the outcome's name for the metrics.
    private func record(_ run: Run, of job: ClaimedJob, retry: RetryPolicy, stopping: Bool, on node: any Database) async -> String {
        let now = WallClock.microseconds()
        do {
            switch run {
            case .leaseLost:
                return "lease_lost"
            case .finished(.success(.completed)):
                try await store.complete(job, now: now, in: node)
                return "completed"
            case .finished(.success(.snooze(let delay))):
                try await store.snooze(job, for: delay, now: now, in: node)
                return "snoozed"
            case .finished(.failure(let error)) where stopping && error is CancellationError:
                // Shut down before it finished: back to the queue, the attempt not spent.
                try await store.snooze(job, for: .zero, now: now, in: node)
                return "released"
            case .finished(.failure(let error)):
                let message = String(String(describing: error).prefix(2000))
                let decision = try await store.fail(job, error: message, policy: retry, now: now, in: node)
                logger.warning(
                    "job failed", metadata: ["job": "\(job.id)", "name": "\(job.name)", "attempt": "\(job.attempt)", "error": "\(message)"]
                )
                return decision == .dead ? "dead" : "retried"
            }
        } catch let error as JobError where error.code == .leaseLost {
            logger.warning("job finished after its lease was taken back; its result is dropped", metadata: ["job": "\(job.id)", "name": "\(job.name)"])
            return "lease_lost"
        } catch {
            // The lease expires and the job runs again: at least once.
            logger.warning("cannot record a job's end; it will run again", metadata: ["job": "\(job.id)", "error": "\(error)"])
            return "unrecorded"
        }
    }
}
