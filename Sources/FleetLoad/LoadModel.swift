/// How a run sends its requests: on a schedule (open) or from a fixed set of users, each
/// waiting for its last answer (closed).
public enum LoadModel: Sendable {
    case open(OpenModelDriver)
    case closed(ClosedModelDriver)

    /// Runs the model to its end with the progress line beside it (when given), then stops
    /// the progress line.
    public func run(_ workload: some LoadWorkload, recorder: LoadRecorder, progress: ProgressLine?, length: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            if let progress { group.addTask { await progress.run(recorder: recorder, length: length) } }
            switch self {
            case .open(let driver): await driver.run(workload, recorder: recorder)
            case .closed(let driver): await driver.run(workload, recorder: recorder)
            }
            group.cancelAll()
        }
    }
}
