/// Sends requests on an arrival schedule whatever the target does (the open model: users
/// arrive whether or not earlier ones were served), so latency under overload is measured
/// rather than hidden.
///
/// Each request runs in a child task of its own; at most `maxInFlight` at once. A request
/// due while that many are outstanding is not sent and counts as `dropped`: the rate the
/// report shows is then still the rate that was asked for, with the shortfall as errors.
public struct OpenModelDriver: Sendable {
    public let schedule: ArrivalSchedule
    public let maxInFlight: Int

    public init(schedule: ArrivalSchedule, maxInFlight: Int) throws(LoadError) {
        guard maxInFlight > 0 else { throw LoadError(.invalidArgument, "the in-flight cap must be positive") }
        self.schedule = schedule
        self.maxInFlight = maxInFlight
    }

    /// Runs the schedule from `recorder.start`, then waits for the requests still in flight.
    /// Returns early (without waiting for more arrivals) when the task is cancelled.
    public func run(_ workload: some LoadWorkload, recorder: LoadRecorder) async {
        await withDiscardingTaskGroup { group in
            var sequence = 0
            for offset in schedule {
                let intended = recorder.start + offset
                // Sleeping past the instant (a busy machine) only delays the send: the
                // latency still counts from `intended`.
                do { try await Task.sleep(until: intended, clock: .continuous) } catch { break }
                let operation = workload.pick(sequence)
                if recorder.inFlight >= maxInFlight {
                    recorder.record(operation, intended: intended, finished: .now, outcome: .dropped)
                } else {
                    recorder.began()
                    let number = sequence
                    group.addTask {
                        let outcome = await workload.perform(operation, sequence: number)
                        recorder.record(operation, intended: intended, finished: .now, outcome: outcome)
                        recorder.ended()
                    }
                }
                sequence += 1
            }
        }
    }
}
