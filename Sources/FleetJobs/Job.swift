public import FleetData

/// A job as a worker holds it: what to run, and the lease that fences it.
public struct ClaimedJob: Sendable, Equatable {
    public let id: Int64
    public let queue: String
    public let name: String
    /// The payload as enqueued (JSON, by convention).
    public let payload: String
    /// This run's number, from 1.
    public let attempt: Int
    public let maxAttempts: Int
    /// When the job became ready to run (microseconds since 1970): its start minus this is
    /// how long it waited for a worker.
    public let runAt: Int64
    /// Proves that this worker still holds the job: every change to it names the token.
    public let lease: String
    /// The trace of the span that enqueued it (empty when tracing was off).
    public let trace: JobTraceContext

    public init(
        id: Int64, queue: String, name: String, payload: String, attempt: Int, maxAttempts: Int, runAt: Int64, lease: String,
        trace: JobTraceContext = JobTraceContext()
    ) {
        self.id = id
        self.queue = queue
        self.name = name
        self.payload = payload
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.runAt = runAt
        self.lease = lease
        self.trace = trace
    }
}

/// What `enqueue` stores.
public struct NewJob: Sendable {
    public var queue: String
    public var name: String
    public var payload: String
    public var runAt: Int64?
    public var priority: Int
    public var maxAttempts: Int
    /// Not enqueued while a job with this key is available or running.
    public var uniqueKey: String?

    public init(queue: String = "default", name: String, payload: String, runAt: Int64? = nil, priority: Int = 0, maxAttempts: Int = 20, uniqueKey: String? = nil) {
        self.queue = queue
        self.name = name
        self.payload = payload
        self.runAt = runAt
        self.priority = priority
        self.maxAttempts = max(1, maxAttempts)
        self.uniqueKey = uniqueKey
    }
}

/// The states a job row goes through: `available` (ready at `run_at`, which may be in
/// the future) → `running` (leased) → `completed`, back to `available` (a retry, a snooze,
/// or a lease that expired), or `dead` (out of attempts).
public enum JobState: String, Sendable, CaseIterable {
    case available, running, completed, dead
}

/// Errors of the jobs layer.
public struct JobError: Error, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// The lease named is not the job's current one: another worker holds the job now,
        /// or it already finished. The caller must drop the job without touching it.
        case leaseLost
        /// No job with this id is in a state the operation applies to.
        case notFound
        /// The payload does not decode as the job type's, or a job names no registered type.
        case badPayload
    }
    public let code: Code
    public let job: Int64
    public let detail: String

    public init(code: Code, job: Int64, detail: String = "") {
        self.code = code
        self.job = job
        self.detail = detail
    }

    public var description: String {
        switch code {
        case .leaseLost: "job \(job): the lease is no longer held"
        case .notFound: "job \(job): not found\(detail.isEmpty ? "" : " (\(detail))")"
        case .badPayload: "job \(job): \(detail)"
        }
    }
}
