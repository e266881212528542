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

    @Test func aSessionOnlyRisesAndLooksItsClientUpOncePerShard() async {
        let lookups = Counter()
        let session = SessionConsistency { node in
            await lookups.add()
            return node == 0 ? WALPosition(rawValue: 50) : nil
        }
        #expect(session.written.isEmpty)
        session.advance(on: 0, to: WALPosition(rawValue: 40))
        #expect(await session.required(on: 0) == WALPosition(rawValue: 50))
        session.advance(on: 0, to: WALPosition(rawValue: 70))
        #expect(await session.required(on: 0) == WALPosition(rawValue: 70))
        session.advance(on: 0, to: WALPosition(rawValue: 60))
        // Another shard's positions are its own.
        #expect(await session.required(on: 1) == nil)
        session.advance(on: 1, to: WALPosition(rawValue: 5))
        #expect(session.written == [0: WALPosition(rawValue: 70), 1: WALPosition(rawValue: 5)])
        #expect(await lookups.value == 2)
        #expect(await SessionConsistency(atLeast: nil).required(on: 0) == nil)
    }
}

private actor Counter {
    var value = 0
    func add() { value += 1 }
}
