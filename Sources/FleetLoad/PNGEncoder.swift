/// Writes a raster as a PNG file: palette colors, 8 bits a pixel, no filtering, and the
/// image data in zlib "stored" (uncompressed) deflate blocks. A chart is a few hundred KB
/// this way, which a report can afford, and it needs no compression library.
enum PNGEncoder {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    static func encode(_ raster: Raster) -> [UInt8] {
        var header: [UInt8] = []
        header.appendBigEndian(UInt32(raster.width))
        header.appendBigEndian(UInt32(raster.height))
        // 8-bit palette indices, deflate, adaptive filtering (type 0 on every row), no interlace.
        header += [8, 3, 0, 0, 0]
        let palette = Raster.Color.allCases.flatMap { color -> [UInt8] in
            let (red, green, blue) = color.rgb
            return [red, green, blue]
        }
        var scanlines: [UInt8] = []
        scanlines.reserveCapacity((raster.width + 1) * raster.height)
        for row in 0..<raster.height {
            scanlines.append(0)
            scanlines += raster.pixels[(row * raster.width)..<((row + 1) * raster.width)]
        }
        var file = signature
        file += chunk("IHDR", header)
        file += chunk("PLTE", palette)
        file += chunk("IDAT", zlibStored(scanlines))
        file += chunk("IEND", [])
        return file
    }

    /// length, type, data, CRC-32 of type and data.
    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendBigEndian(UInt32(data.count))
        let typed = Array(type.utf8) + data
        bytes += typed
        bytes.appendBigEndian(Checksum.crc32(typed))
        return bytes
    }

    /// A zlib stream of stored blocks (at most 65,535 bytes each) and the Adler-32 trailer.
    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        // CMF 0x78 (deflate, 32 KiB window), FLG 0x01 (no dictionary, fastest; 0x7801 % 31 == 0).
        var bytes: [UInt8] = [0x78, 0x01]
        var start = 0
        repeat {
            let length = min(65_535, data.count - start)
            let final: UInt8 = start + length == data.count ? 1 : 0
            bytes.append(final)
            bytes.appendLittleEndian(UInt16(length))
            bytes.appendLittleEndian(~UInt16(length))
            bytes += data[start..<(start + length)]
            start += length
        } while start < data.count
        bytes.appendBigEndian(Checksum.adler32(data))
        return bytes
    }
}

/// The two checksums a PNG carries: CRC-32 on every chunk, Adler-32 on the zlib stream.
enum Checksum {
    private static let crcTable: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 != 0 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    static func crc32(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return ~crc
    }

    static func adler32(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var a: UInt32 = 1
        var b: UInt32 = 0
        for byte in bytes {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        return b << 16 | a
    }
}

extension [UInt8] {
    mutating func appendBigEndian(_ value: UInt32) {
        append(contentsOf: [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)])
    }

    mutating func appendLittleEndian(_ value: UInt16) {
        append(contentsOf: [UInt8(value & 0xFF), UInt8(value >> 8)])
    }
}
