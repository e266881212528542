import Metrics
import Synchronization

/// A metrics counter that also keeps its count readable in process: Prometheus gets the
/// series, the ops page reads `value` without parsing `/metrics`. One relaxed atomic add
/// beside the counter's own.
final class CountedCounter: Sendable {
    private let counter: Counter
    private let count = Atomic<Int>(0)

    init(_ counter: Counter) { self.counter = counter }

    func increment(by amount: Int64 = 1) {
        counter.increment(by: amount)
        count.add(Int(amount), ordering: .relaxed)
    }

    var value: Int { count.load(ordering: .relaxed) }
}
