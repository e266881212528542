import FleetSupport
import Foundation
import Synchronization

/// A one-line progress bar on standard error with rate and time left; on a non-terminal
/// (CI logs) it prints a plain line every 10 % instead of redrawing.
final class ProgressBar: Sendable {
    private struct State {
        var phase = ""
        var started = ContinuousClock.now
        var lastDecile = -1
    }
    private let state = Mutex(State())
    private let interactive = isatty(STDERR_FILENO) != 0

    func update(_ phase: String, _ done: Int, _ total: Int) {
        let line: String? = state.withLock { state in
            if state.phase != phase {
                state.phase = phase
                state.started = .now
                state.lastDecile = -1
            }
            let seconds = max(0.001, (ContinuousClock.now - state.started).inSeconds)
            let rate = Double(done) / seconds
            let left = rate > 0 ? Double(total - done) / rate : 0
            let fraction = Double(done) / Double(max(total, 1))
            let decile = Int(fraction * 10)
            if !interactive {
                guard decile != state.lastDecile else { return nil }
                state.lastDecile = decile
            }
            let width = 30
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            let text = String(
                format: "%@ [%@] %3d%% %d/%d  %.0f/s  %.0fs left", phase.padding(toLength: 10, withPad: " ", startingAt: 0) as NSString, bar as NSString,
                Int(fraction * 100), done, total, rate, left
            )
            return interactive ? "\r" + text + (done == total ? "\n" : "") : text + "\n"
        }
        if let line { FileHandle.standardError.write(Data(line.utf8)) }
    }
}
