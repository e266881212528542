import Configuration
@testable import FleetApp
import FleetObservability
import Hummingbird
import HummingbirdTesting
import Metrics
import Prometheus
import Synchronization
import Testing

@Suite struct ObservabilityTests {
    @Test func healthEndpoints() async throws {
        try await TestConduit.make().test { client in
            let live = try await client.send(.get, "/health/live")
            #expect(live.status == .ok)
            // Ready once the migrations ran (seconds, on a busy machine).
            let ready = try await client.eventually("/health/ready", within: .seconds(60)) { $0["status"].string == "ready" }
            #expect(ready["status"].string == "ready")
            #expect(ready["checks"]["database"].bool == true)
            #expect(ready["checks"]["schema"].bool == true)
        }
    }

    @Test func drainingMakesReadinessFail() async throws {
        let health = HealthChecks()
        health.register("ok") { true }
        #expect(await health.readiness().ready)
        health.beginDraining()
        #expect(await !health.readiness().ready)
    }

    @Test func requestDurationHistogramByRouteMethodAndStatus() async throws {
        // The factory that `Observability.bootstrap` installs, used on a private registry.
        let registry = PrometheusCollectorRegistry()
        let factory = Observability.makeMetricsFactory(registry: registry)
        let timer = Timer(
            label: "http.server.request.duration",
            dimensions: [("http.route", "/api/articles/{slug}"), ("http.request.method", "GET"), ("http.response.status_code", "200")],
            factory: factory
        )
        timer.recordMilliseconds(3)
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        let text = String(decoding: buffer, as: UTF8.self)
        #expect(text.contains("# TYPE http_server_request_duration_seconds histogram"))
        #expect(text.contains(#"http_server_request_duration_seconds_bucket{http_route="/api/articles/{slug}",http_request_method="GET",http_response_status_code="200",le="0.005"} 1"#))
    }

    @Test func metricsAreServedOnTheAdminListenerOnly() async throws {
        try await TestConduit.make().test { client, harness in
            #expect(try await client.send(.get, "/metrics").status == .notFound)
            try await harness.fleet.admin.test(.router) { admin in
                let response = try await admin.execute(uri: "/metrics", method: .get)
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
            }
        }
    }

    @Test func theAdminListenerIsOnLoopbackByDefault() throws {
        let settings = try FleetSettings(config: ConfigReader(provider: InMemoryProvider(values: [:])))
        #expect(settings.adminHost == "127.0.0.1")
        #expect(settings.adminPort == 9464)
    }

    /// A check that does not answer fails readiness within its timeout instead of holding
    /// every probe; a draining process says so without running the checks.
    @Test func aHungCheckFailsInTimeAndDrainingSkipsTheChecks() async throws {
        let health = HealthChecks(maxAge: .zero, checkTimeout: .milliseconds(200))
        health.register("hung") {
            try? await Task.sleep(for: .seconds(3600))
            return true
        }
        let started = ContinuousClock.now
        let (ready, results) = await health.readiness()
        #expect(!ready && results["hung"] == false)
        #expect(ContinuousClock.now - started < .seconds(10))  // not the hour the check would take
        health.beginDraining()
        let draining = await health.readiness()
        #expect(!draining.ready && draining.results["accepting_traffic"] == false)
    }

    /// Load balancers poll readiness often; its checks query every database, so a result
    /// is reused for `health.ready.cache.ms` and concurrent polls share one run.
    @Test func readinessIsCachedBriefly() async throws {
        let runs = Atomic<Int>(0)
        let health = HealthChecks(maxAge: .seconds(60))
        health.register("counted") {
            runs.add(1, ordering: .relaxed)
            try? await Task.sleep(for: .milliseconds(20))
            return true
        }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<20 { group.addTask { _ = await health.readiness() } }
        }
        #expect(await health.readiness().ready)
        #expect(runs.load(ordering: .relaxed) == 1)
        // Draining is never cached.
        health.beginDraining()
        #expect(await !health.readiness().ready)
        let fresh = HealthChecks(maxAge: .zero)
        fresh.register("counted") {
            runs.add(1, ordering: .relaxed)
            return true
        }
        _ = await fresh.readiness()
        _ = await fresh.readiness()
        #expect(runs.load(ordering: .relaxed) == 3)
    }

    @Test func requestIDIsReturned() async throws {
        try await TestConduit.make().test { client in
            let response = try await client.send(.get, "/api/tags", headers: [.init("X-Request-ID")!: "trace-42"])
            #expect(response.headers[.init("X-Request-ID")!] == "trace-42")
        }
    }
}

@Suite struct PrometheusNamingTests {
    @Test(arguments: [
        ("http.server.request.duration", "http_server_request_duration_seconds"),
        ("db.client.connection.wait_time", "db_client_connection_wait_time_seconds"),
        ("db.client.connection.count", "db_client_connection_count"),
        ("hb.requests", "hb_requests"),
    ])
    func openTelemetryNamesBecomePrometheusNames(otel: String, prometheus: String) {
        #expect(PrometheusNaming.metricName(otel) == prometheus)
    }
}
