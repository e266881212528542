import Foundation
import Logging
import Testing

@testable import FleetObservability

@Suite struct LogFormatTests {
    let time = Date(timeIntervalSince1970: 1_790_000_000.25)

    func object(_ line: String) throws -> [String: Any] {
        #expect(line.hasSuffix("\n"))
        #expect(line.dropLast().contains("\n") == false, "one event, one line")
        let parsed = try JSONSerialization.jsonObject(with: Data(line.utf8))
        return try #require(parsed as? [String: Any])
    }

    @Test func jsonLinesCarryTheFieldsAPipelineIndexes() throws {
        let handler = FleetLogHandler(label: "fleet", level: .info, format: .json)
        let line = handler.render(
            level: .warning, message: "cannot renew a job's lease",
            metadata: [
                "hb.request.id": "req-1", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7",
                "job": "42", "shards": .array(["0", "1"]), "error": .dictionary(["code": "timeout"]),
            ],
            time: time
        )
        let fields = try object(line)
        #expect(fields["level"] as? String == "warning")
        #expect(fields["logger"] as? String == "fleet")
        #expect(fields["message"] as? String == "cannot renew a job's lease")
        #expect(fields["request_id"] as? String == "req-1")
        #expect(fields["trace_id"] as? String == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(fields["span_id"] as? String == "00f067aa0ba902b7")
        #expect((fields["time"] as? String)?.hasPrefix("2026-09-21T") == true)
        let metadata = try #require(fields["metadata"] as? [String: Any])
        #expect(metadata["job"] as? String == "42")
        #expect(metadata["shards"] as? [String] == ["0", "1"])
        #expect((metadata["error"] as? [String: String]) == ["code": "timeout"])
        #expect(metadata["trace_id"] == nil, "promoted fields are not repeated")
    }

    @Test func hostileTextCannotSplitTheLineOrForgeFields() throws {
        let handler = FleetLogHandler(label: "fleet", level: .info, format: .json)
        let hostile = "bye\"}\n{\"level\":\"critical\",\"message\":\"forged\u{2028}\u{0007}\\"
        let line = handler.render(level: .info, message: hostile, metadata: ["user": .string(hostile)], time: time)
        let fields = try object(line)
        #expect(fields["message"] as? String == hostile)
        #expect((fields["metadata"] as? [String: String])?["user"] == hostile)
        #expect(fields["level"] as? String == "info")
    }

    @Test func textStaysTheDefault() {
        let handler = FleetLogHandler(label: "fleet", level: .info)
        let line = handler.render(level: .info, message: "fleet is serving", metadata: ["b": "2", "a": "1"], time: time)
        #expect(line.hasSuffix(" info fleet: a=1 b=2 fleet is serving\n"))
    }

    @Test func tracingOffNeedsNoExporterAndBadRatiosAreRefused() throws {
        #expect(try TracingBackend.bootstrap(TracingOptions(enabled: false)) == nil)
        #expect(throws: ObservabilityError.self) { try TracingBackend.bootstrap(TracingOptions(enabled: true, sampleRatio: 1.5)) }
    }
}
