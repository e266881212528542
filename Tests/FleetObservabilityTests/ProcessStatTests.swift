import Foundation
import Testing

@testable import FleetObservability

@Suite struct ProcessStatTests {
    @Test func parsesTheFieldsAfterAHostileCommandName() throws {
        // Field 2 holds spaces and a ") " of its own: only the last ')' ends it.
        let line = "4242 (fleet ) x (2) S 1 4242 4242 0 -1 4194560 1500 0 0 0 250 75 0 0 20 0 12 0 987654 2147483648 5120 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n"
        let stat = try #require(ProcessStat(line))
        #expect(stat == ProcessStat(userTicks: 250, systemTicks: 75, startTicks: 987_654, virtualBytes: 2_147_483_648, residentPages: 5120))
    }

    @Test func refusesWhatIsNotAStatLine() {
        #expect(ProcessStat("") == nil)
        #expect(ProcessStat("4242 (fleet) S 1 2") == nil)
    }

    @Test func readsThisProcess() throws {
        #if os(Linux)
        let stat = try #require(ProcessStat(try String(contentsOfFile: "/proc/self/stat", encoding: .utf8)))
        #expect(stat.residentPages > 0)
        #expect(stat.virtualBytes > 0)
        #endif
    }
}
