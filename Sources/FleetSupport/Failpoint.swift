#if canImport(Glibc)
import Glibc
#endif

/// Places where a test may make the process die on the spot (SIGKILL, as a crash or an
/// OOM kill would), to prove that what was committed before is not lost. Named in the
/// environment variable `FLEET_FAILPOINTS` (comma-separated); unset in production, where a
/// check costs one comparison.
public enum Failpoint {
    private static let armed: Set<Substring> = {
        guard let text = getenv("FLEET_FAILPOINTS") else { return [] }
        return Set(String(cString: text).split(separator: ","))
    }()

    /// Kills the process if `name` is armed.
    public static func check(_ name: String) {
        guard isArmed(name) else { return }
        kill(getpid(), SIGKILL)
    }

    /// Whether `name` is armed: for failpoints that make a process misbehave instead of
    /// dying (a server that answers every request with an error).
    public static func isArmed(_ name: String) -> Bool {
        !armed.isEmpty && armed.contains(Substring(name))
    }
}
