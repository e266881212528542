import Hummingbird
import HummingbirdTesting
import Metrics
import FleetObservability
import Prometheus
import Testing

@Suite struct ObservabilityTests {
    @Test func healthEndpoints() async throws {
        try await TestConduit.make().test { client in
            let live = try await client.send(.get, "/health/live")
            #expect(live.status == .ok)
            let ready = JSON(try await client.send(.get, "/health/ready"))
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

    @Test func metricsEndpointServesPrometheusText() async throws {
        try await TestConduit.make().test { client in
            let response = try await client.send(.get, "/metrics")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
        }
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
