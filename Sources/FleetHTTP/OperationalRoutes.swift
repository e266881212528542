public import Hummingbird
public import FleetObservability
public import Prometheus
import Foundation

/// The routes an orchestrator and an operator need. Health stays on the API port, where
/// load balancers look; metrics (and what an operator reads) go on the admin listener,
/// which is not exposed to clients.
public enum OperationalRoutes {
    /// `/health/live` and `/health/ready`. Add them to the router ahead of the API's
    /// groups: they are neither authenticated nor rate-limited.
    public static func addHealth<Context: RequestContext>(to router: Router<Context>, health: HealthChecks) {
        router.get("/health/live") { _, _ -> Response in
            jsonResponse(.ok, #"{"status":"ok"}"#)
        }
        router.get("/health/ready") { _, _ -> Response in
            let (ready, results) = await health.readiness()
            let checks = results.sorted { $0.key < $1.key }
                .map { "\"\($0.key)\":\($0.value ? "true" : "false")" }
                .joined(separator: ",")
            let details = (try? JSONEncoder.sorted.encode(health.details)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            return jsonResponse(
                ready ? .ok : .serviceUnavailable, #"{"status":"\#(ready ? "ready" : "not ready")","checks":{\#(checks)},"details":\#(details)}"#
            )
        }
    }

    /// `/metrics`, in Prometheus's text format.
    public static func addMetrics<Context: RequestContext>(to router: Router<Context>, metrics: PrometheusCollectorRegistry) {
        let process = ProcessMetrics(registry: metrics)
        router.get("/metrics") { _, _ -> Response in
            process.update()
            var buffer: [UInt8] = []
            buffer.reserveCapacity(16 * 1024)
            metrics.emit(into: &buffer)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer))
            )
        }
    }

    static func jsonResponse(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: body))
        )
    }
}

extension JSONEncoder {
    /// Keys in order, so that the same state always reads the same.
    fileprivate static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}
