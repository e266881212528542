#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The real-time clock, for timestamps that are stored or compared between processes
/// (row times, ids, messages between instances). Durations measured inside one process
/// use `ContinuousClock`, which never steps.
public enum WallClock {
    /// Milliseconds since the Unix epoch.
    public static func milliseconds() -> Int64 {
        let now = timespec.now
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    /// Microseconds since the Unix epoch.
    public static func microseconds() -> Int64 {
        let now = timespec.now
        return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
    }
}

/// The monotonic clock as a plain number, for instants kept in atomics (where a
/// `ContinuousClock.Instant` cannot go).
public enum MonotonicClock {
    /// Nanoseconds since an arbitrary point (the machine's boot); never steps back.
    public static func nanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}

extension timespec {
    fileprivate static var now: timespec {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return now
    }
}
