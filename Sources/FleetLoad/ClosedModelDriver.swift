import Synchronization

/// A fixed number of virtual users, each sending its next request when the last one was
/// answered (and a think time has passed): the closed model. Its rate is whatever the
/// target sustains, which makes it the measure of capacity; latencies count from each
/// request's actual start, so it hides queueing that the open model shows.
public struct ClosedModelDriver: Sendable {
    public let users: Int
    public let length: Duration
    public let thinkTime: Duration

    public init(users: Int, length: Duration, thinkTime: Duration = .zero) throws(LoadError) {
        guard users > 0 else { throw LoadError(.invalidArgument, "the closed model needs at least one connection") }
        guard length > .zero, thinkTime >= .zero else { throw LoadError(.invalidArgument, "the run needs a positive length and a think time not below zero") }
        self.users = users
        self.length = length
        self.thinkTime = thinkTime
    }

    /// Runs every user from `recorder.start` until `length` has passed; a request in flight
    /// at the end is waited for. Stops early when the task is cancelled.
    public func run(_ workload: some LoadWorkload, recorder: LoadRecorder) async {
        let end = recorder.start + length
        let sequence = SequenceNumbers()
        await withDiscardingTaskGroup { group in
            for _ in 0..<users {
                group.addTask {
                    while ContinuousClock.now < end, !Task.isCancelled {
                        let number = sequence.next()
                        let operation = workload.pick(number)
                        let started = ContinuousClock.now
                        recorder.began()
                        let outcome = await workload.perform(operation, sequence: number)
                        recorder.record(operation, intended: started, finished: .now, outcome: outcome)
                        recorder.ended()
                        if thinkTime > .zero { try? await Task.sleep(for: thinkTime) }
                    }
                }
            }
        }
    }
}

/// Request numbers shared by the users of a closed-model run.
private final class SequenceNumbers: Sendable {
    private let last = Atomic<Int>(-1)
    func next() -> Int { last.add(1, ordering: .relaxed).newValue }
}
