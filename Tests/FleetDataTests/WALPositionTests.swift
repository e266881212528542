import Testing

@testable import FleetData

@Suite struct WALPositionTests {
    @Test func parsesAndOrdersPostgresPositions() throws {
        let position = try #require(WALPosition("16/B374D848"))
        #expect(position.rawValue == 0x16_B374_D848)
        #expect(position.description == "16/B374D848")
        #expect(try #require(WALPosition("0/1")) < position)
        #expect(try #require(WALPosition("17/0")) > position)
        for bad in ["", "16", "16/", "/1", "xyz/1", "1/2/3", "100000000/0"] { #expect(WALPosition(bad) == nil, "\(bad)") }
    }

    @Test func aSessionOnlyRisesAndLooksItsClientUpOnce() async {
        let lookups = Counter()
        let session = SessionConsistency {
            await lookups.add()
            return WALPosition(rawValue: 50)
        }
        #expect(session.written == nil)
        session.advance(to: WALPosition(rawValue: 40))
        #expect(await session.required() == WALPosition(rawValue: 50))
        session.advance(to: WALPosition(rawValue: 70))
        #expect(await session.required() == WALPosition(rawValue: 70))
        session.advance(to: WALPosition(rawValue: 60))
        #expect(session.written == WALPosition(rawValue: 70))
        #expect(await lookups.value == 1)
        #expect(await SessionConsistency(atLeast: nil).required() == nil)
    }
}

private actor Counter {
    var value = 0
    func add() { value += 1 }
}
