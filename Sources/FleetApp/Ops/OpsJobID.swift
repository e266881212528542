/// A job as operators name it: `SHARD:ID`, the physical shard whose database holds it and
/// its id there (`ID` alone on a single shard), as `fleet jobs dead` prints it.
struct OpsJobID: Sendable, Equatable, CustomStringConvertible {
    var shard: Int
    var job: Int64

    var description: String { "\(shard):\(job)" }

    /// Parses `text`, or nil when it is not `SHARD:ID` (or `ID` with one shard) within
    /// `shards` physical shards.
    init?(_ text: String, shards: Int) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let job = Int64(parts[parts.count - 1]), job > 0 else { return nil }
        if parts.count == 1 {
            guard shards == 1 else { return nil }
            self.init(shard: 0, job: job)
        } else {
            guard let shard = Int(parts[0]), (0..<shards).contains(shard) else { return nil }
            self.init(shard: shard, job: job)
        }
    }

    init(shard: Int, job: Int64) {
        self.shard = shard
        self.job = job
    }
}
