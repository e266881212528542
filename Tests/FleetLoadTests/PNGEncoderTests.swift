@testable import FleetLoad
import Testing

@Suite struct PNGEncoderTests {
    struct Chunk {
        let type: String
        let data: [UInt8]
        let crc: UInt32
    }

    static func bigEndian(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// Splits a PNG after its signature into chunks, as a decoder reads them.
    static func chunks(_ png: [UInt8]) throws -> [Chunk] {
        var chunks: [Chunk] = []
        var offset = 8
        while offset < png.count {
            let length = Int(bigEndian(png[offset..<(offset + 4)]))
            let type = String(decoding: png[(offset + 4)..<(offset + 8)], as: UTF8.self)
            let data = Array(png[(offset + 8)..<(offset + 8 + length)])
            let crc = bigEndian(png[(offset + 8 + length)..<(offset + 12 + length)])
            chunks.append(Chunk(type: type, data: data, crc: crc))
            offset += 12 + length
        }
        #expect(offset == png.count)
        return chunks
    }

    /// Undoes stored deflate blocks (all the encoder writes), checking each block's NLEN.
    static func inflateStored(_ zlib: [UInt8]) throws -> [UInt8] {
        #expect((UInt16(zlib[0]) << 8 | UInt16(zlib[1])) % 31 == 0)
        var output: [UInt8] = []
        var offset = 2
        while true {
            let header = zlib[offset]
            #expect(header & 0b110 == 0, "stored block")
            let length = Int(zlib[offset + 1]) | Int(zlib[offset + 2]) << 8
            let complement = Int(zlib[offset + 3]) | Int(zlib[offset + 4]) << 8
            #expect(length ^ 0xFFFF == complement)
            output += zlib[(offset + 5)..<(offset + 5 + length)]
            offset += 5 + length
            if header & 1 == 1 { break }
        }
        #expect(bigEndian(zlib[offset..<(offset + 4)]) == Checksum.adler32(output))
        #expect(offset + 4 == zlib.count)
        return output
    }

    @Test func checksumsMatchKnownValues() {
        #expect(Checksum.crc32(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(Checksum.crc32(Array("IEND".utf8)) == 0xAE42_6082)
        #expect(Checksum.adler32(Array("Wikipedia".utf8)) == 0x11E6_0398)
    }

    @Test func writesAValidPNG() throws {
        var raster = Raster(width: 300, height: 250)
        raster.line(from: (0, 0), to: (299, 249), .blue)
        let png = PNGEncoder.encode(raster)
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let chunks = try Self.chunks(png)
        #expect(chunks.map(\.type) == ["IHDR", "PLTE", "IDAT", "IEND"])
        for chunk in chunks { #expect(Checksum.crc32(Array(chunk.type.utf8) + chunk.data) == chunk.crc, "CRC of \(chunk.type)") }
        let header = chunks[0].data
        #expect(header.count == 13)
        #expect(Self.bigEndian(header[0..<4]) == 300 && Self.bigEndian(header[4..<8]) == 250)
        #expect(Array(header[8...]) == [8, 3, 0, 0, 0])
        #expect(chunks[1].data.count == 3 * Raster.Color.allCases.count)
        // 250 rows of a filter byte and 300 indices: 75,250 bytes, so two stored blocks.
        let pixels = try Self.inflateStored(chunks[2].data)
        #expect(pixels.count == 250 * 301)
        #expect(pixels[0] == 0 && pixels[1] == Raster.Color.blue.rawValue && pixels[2] == Raster.Color.white.rawValue)
        #expect(pixels[249 * 301 + 300] == Raster.Color.blue.rawValue)
    }

    @Test func chartsOfAReportAreValidPNGs() throws {
        let chart = LineChart(title: "Latency", yLabel: "ms", xLabel: "seconds", x: [0, 1, 2], series: [.init(name: "p99", color: .purple, values: [1, 5, 2])])
        let png = chart.png()
        let chunks = try Self.chunks(png)
        #expect(try Self.inflateStored(chunks[2].data).count == chart.height * (chart.width + 1))
    }
}
