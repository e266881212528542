import FleetData
import Testing

@Suite struct FleetIDTests {
    @Test func carriesShardAndTime() {
        let shard = LogicalShard(rawValue: 777)
        let id = FleetID(milliseconds: 1_800_000_000_123, shard: shard, sequence: 4095)
        #expect(id.shard == shard)
        #expect(id.milliseconds == 1_800_000_000_123)
        #expect(id.rawValue > 0)
    }

    @Test func base36RoundTrips() throws {
        let id = FleetIDGenerator().next(on: LogicalShard(rawValue: 3))
        #expect(FleetID(base36: id.base36) == id)
        #expect(FleetID(base36: "") == nil)
        #expect(FleetID(base36: "not-base-36!") == nil)
        #expect(FleetID(base36: "zzzzzzzzzzzzzzzzzzzz") == nil)
    }

    @Test func generatorIsMonotonicAndUniqueWithinAMillisecond() {
        // A frozen clock forces every id into one millisecond and beyond.
        let generator = FleetIDGenerator(clock: { 1_800_000_000_000 })
        var previous = FleetID(rawValue: 0)
        var seen = Set<FleetID>()
        for _ in 0..<20_000 {
            let id = generator.next(on: LogicalShard(rawValue: 9))
            #expect(id > previous)
            #expect(id.shard.rawValue == 9)
            previous = id
            seen.insert(id)
        }
        #expect(seen.count == 20_000)
    }

    @Test func shardHashIsStableAndSpread() {
        #expect(LogicalShard(hashing: "jake") == LogicalShard(hashing: "jake"))
        let shards = Set((0..<5000).map { LogicalShard(hashing: "user\($0)").rawValue })
        #expect(shards.count > 900)  // of 1024
    }
}
