import Foundation

/// A kind of job: its name in the table, its queue, how it retries, and the Codable
/// payload it carries. Producers make `NewJob`s from it and handlers receive its payload
/// decoded, so the two sides cannot disagree about the shape.
public struct JobType<Payload: Codable & Sendable>: Sendable {
    public let name: String
    public let queue: String
    public let retry: RetryPolicy

    public init(_ name: String, queue: String = "default", retry: RetryPolicy = RetryPolicy()) {
        self.name = name
        self.queue = queue
        self.retry = retry
    }

    /// The row to enqueue for `payload`: ready at `runAt` (microseconds; now when nil).
    public func make(_ payload: Payload, runAt: Int64? = nil, priority: Int = 0, uniqueKey: String? = nil) throws -> NewJob {
        NewJob(
            queue: queue, name: name, payload: String(decoding: try JSONEncoder().encode(payload), as: UTF8.self), runAt: runAt,
            priority: priority, maxAttempts: retry.maxAttempts, uniqueKey: uniqueKey
        )
    }

    /// The payload of a claimed job of this type.
    public func payload(of job: ClaimedJob) throws -> Payload {
        do {
            return try JSONDecoder().decode(Payload.self, from: Data(job.payload.utf8))
        } catch {
            throw JobError(code: .badPayload, job: job.id, detail: "the payload is not a \(name): \(error)")
        }
    }
}

/// What a handler asks for after it ran: done, or run again after a while without
/// spending an attempt (the work is not possible yet). A handler that throws has failed:
/// the job is retried with backoff, or dies once out of attempts.
public enum JobOutcome: Sendable, Equatable {
    case completed
    case snooze(Duration)
}
