import ArgumentParser
import FleetLoad
import FleetSupport
import Foundation

/// A load generator for Conduit: the realistic mix the benchmarks and chaos tests send,
/// with a report and an SLO verdict, and a check afterwards that no acknowledged write was
/// lost (`fleet loadtest verify`).
struct LoadTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadtest",
        abstract: "Send a realistic Conduit mix to running instances and report latency, errors and an SLO verdict.",
        subcommands: [Run.self, Verify.self],
        defaultSubcommand: Run.self
    )

    /// The password of every load user (and what verify signs them in with).
    static let defaultPassword = "loadtest-password"

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Set up load users and articles, send the mix (open or closed model), write the report and the writes file.",
            discussion: "Run the target with --ratelimit-enabled false: the load users share one address and would be rate-limited. "
                + "The report (report.json, report.md, throughput.png, latency.png) and writes.jsonl (every acknowledged write) go to --out."
        )

        @Option(name: .customLong("target"), help: "Base URL of an instance or load balancer; repeat or comma-separate for several (round-robin).")
        var targets: [String] = ["http://127.0.0.1:8080"]
        @Option(help: "Open model: requests per second, or steps 'SECONDS:RATE,...' (e.g. 0:50,10:200).")
        var rate: String?
        @Option(help: "Closed model: this many virtual users, each sending when its last answer came (instead of --rate).")
        var connections: Int?
        @Option(help: "Closed model: pause after each answer, in milliseconds.") var thinkMs = 0
        @Option(help: "Measured seconds (after the warm-up).") var duration: Double = 30
        @Option(help: "Seconds of load before measuring.") var warmup: Double = 2
        @Option(help: "Operation weights, NAME=WEIGHT,... (operations: \(ConduitOperation.allCases.map(\.rawValue).joined(separator: ", "))).")
        var mix = LoadTestMix.standard
        @Option(help: "Load users to sign up (or sign in) before the run.") var users = 50
        @Option(help: "Articles written during setup (default: two per user).") var setupArticles: Int?
        @Option(help: "Users each load user follows during setup (Zipf-popular ones).") var follows = 5
        @Option(help: "Names the load users (lt-RUNID-N), so runs do not collide; letters and digits (default: from the clock).")
        var runID: String?
        @Option(help: "Seed of the request mix and of its Zipf draws.") var seed: UInt64 = 1
        @Option(help: "Open model: most requests in flight; a request due beyond it is counted as dropped.") var maxInFlight = 1000
        @Option(help: "A request not answered within this many seconds is an error (timeout).") var timeout: Double = 10
        @Option(help: "Folder for the report and writes.jsonl (default: loadtest-RUNID).") var out: String?
        @Option(help: "SLO: the 95th percentile latency, in milliseconds.") var sloP95Ms: Double = 200
        @Option(help: "SLO: the error rate, in percent.") var sloErrorRate: Double = 1
        @Flag(help: "Exit with status 3 when the SLO fails (else the verdict is only reported).") var failOnSlo = false
        @Option(help: "The Origin header sent with every request, as a browser would.") var origin = "http://localhost:4100"
        @Option(help: "The load users' password.") var password = LoadTest.defaultPassword

        func validate() throws {
            if (rate == nil) == (connections == nil) { throw ValidationError("give either --rate (open model) or --connections (closed model)") }
            if let runID, runID.isEmpty || runID.count > 24 || !runID.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) {
                throw ValidationError("--run-id takes 1 to 24 letters and digits")
            }
            guard duration > 0, warmup >= 0, timeout > 0, users > 0, follows >= 0, thinkMs >= 0 else {
                throw ValidationError("--duration, --timeout and --users must be positive; --warmup, --follows and --think-ms not negative")
            }
        }

        func run() async throws {
            let runID = self.runID ?? String(WallClock.milliseconds() / 1000, radix: 36)
            let objective = try ServiceLevelObjective(p95Milliseconds: sloP95Ms, errorRatePercent: sloErrorRate)
            let mix = try LoadTestMix(parsing: self.mix)
            let length = Duration.seconds(warmup + duration)
            let model: LoadModel
            if let connections {
                model = .closed(try ClosedModelDriver(users: connections, length: length, thinkTime: .milliseconds(thinkMs)))
            } else {
                let steps = try ArrivalSchedule.steps(parsing: rate ?? "")
                model = .open(try OpenModelDriver(schedule: try ArrivalSchedule(steps: steps, length: length), maxInFlight: maxInFlight))
            }
            let directory = URL(fileURLWithPath: out ?? "loadtest-\(runID)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let writes = try AcknowledgedWriteLog(url: directory.appendingPathComponent("writes.jsonl"))
            defer { writes.close() }
            let targets = targets.flatMap { $0.split(separator: ",").map(String.init) }
            let client = try LoadTestClient(
                targets: targets, origin: origin, timeout: .seconds(timeout), poolSize: connections ?? min(maxInFlight, 256)
            )
            let report: LoadReport
            do {
                report = try await measure(model: model, mix: mix, client: client, writes: writes, runID: runID, targets: targets, objective: objective)
                await client.shutdown()
            } catch {
                await client.shutdown()
                throw error
            }
            try report.write(to: directory)
            print(Self.summary(report, directory: directory, writes: writes.url))
            if failOnSlo, !report.slo.pass { throw ExitCode(3) }
        }

        private func measure(
            model: LoadModel, mix: LoadTestMix, client: LoadTestClient, writes: AcknowledgedWriteLog, runID: String, targets: [String],
            objective: ServiceLevelObjective
        ) async throws -> LoadReport {
            let setupStarted = ContinuousClock.now
            let context = LoadTestContext(client: client, writes: writes, runID: runID, password: password, seed: seed)
            let catalog = try await LoadTestSetup(context: context, users: users, articles: setupArticles ?? users * 2, followsPerUser: follows).run()
            FileHandle.standardError.write(
                Data("setup: \(users) users, \(catalog.articleCount) articles in \(String(format: "%.1f", (ContinuousClock.now - setupStarted).inSeconds)) s\n".utf8)
            )
            let workload = ConduitWorkload(context: context, catalog: catalog, mix: mix)
            let startedAt = Date()
            let recorder = LoadRecorder(start: .now, warmup: .seconds(warmup))
            await model.run(workload, recorder: recorder, progress: ProgressLine(), length: .seconds(warmup + duration))
            var parameters = [
                "model": connections == nil ? "open" : "closed", "duration": "\(duration) s", "warmup": "\(warmup) s", "targets": targets.joined(separator: ","),
                "mix": mix.description, "users": "\(users)", "run-id": runID, "seed": "\(seed)",
            ]
            if let rate { parameters["rate"] = rate; parameters["max-in-flight"] = "\(maxInFlight)" }
            if let connections { parameters["connections"] = "\(connections)"; parameters["think-ms"] = "\(thinkMs)" }
            return recorder.report(duration: .seconds(duration), parameters: parameters, objective: objective, startedAt: startedAt)
        }

        /// What is printed at the end: totals, percentiles, the verdict and where the files are.
        static func summary(_ report: LoadReport, directory: URL, writes: URL) -> String {
            let total = report.total
            let latency = total.latencyMs.map { String(format: "p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms", $0.p50, $0.p95, $0.p99, $0.max) } ?? "no successful request"
            let errors = total.errorsByKind.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
            return """
                requests \(total.requests) (\(String(format: "%.1f", total.rate))/s), errors \(total.errors)\(errors.isEmpty ? "" : " (\(errors))")
                latency \(latency)
                SLO \(report.slo.pass ? "PASS" : "FAIL")\(report.slo.failures.isEmpty ? "" : ": " + report.slo.failures.joined(separator: "; "))
                report \(directory.path)/report.md, writes \(writes.path)
                """
        }
    }
}
