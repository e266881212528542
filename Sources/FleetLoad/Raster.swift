/// An image of palette colors to draw charts on: points, rectangles, lines and text in the
/// built-in font. Palette colors keep the PNG a third of the size of full RGB.
struct Raster {
    /// The colors a chart uses; the raw value is the PNG palette index.
    enum Color: UInt8, CaseIterable {
        case white, black, grid, axis, blue, orange, red, green, purple

        var rgb: (UInt8, UInt8, UInt8) {
            switch self {
            case .white: (255, 255, 255)
            case .black: (20, 20, 20)
            case .grid: (226, 226, 226)
            case .axis: (110, 110, 110)
            case .blue: (31, 119, 180)
            case .orange: (255, 127, 14)
            case .red: (214, 39, 40)
            case .green: (44, 160, 44)
            case .purple: (148, 103, 189)
            }
        }
    }

    let width: Int
    let height: Int
    /// Row by row, one palette index a pixel.
    private(set) var pixels: [UInt8]

    init(width: Int, height: Int, background: Color = .white) {
        self.width = width
        self.height = height
        pixels = Array(repeating: background.rawValue, count: width * height)
    }

    subscript(x: Int, y: Int) -> Color? {
        guard (0..<width).contains(x), (0..<height).contains(y) else { return nil }
        return Color(rawValue: pixels[y * width + x])
    }

    /// Points outside the image are ignored, so callers need not clip.
    mutating func set(_ x: Int, _ y: Int, _ color: Color) {
        guard (0..<width).contains(x), (0..<height).contains(y) else { return }
        pixels[y * width + x] = color.rawValue
    }

    mutating func fill(x: Int, y: Int, width: Int, height: Int, _ color: Color) {
        for row in y..<(y + height) {
            for column in x..<(x + width) { set(column, row, color) }
        }
    }

    /// A straight line (Bresenham), `thickness` pixels wide.
    mutating func line(from start: (x: Int, y: Int), to end: (x: Int, y: Int), _ color: Color, thickness: Int = 1) {
        var (x, y) = start
        let dx = abs(end.x - x)
        let dy = -abs(end.y - y)
        let stepX = x < end.x ? 1 : -1
        let stepY = y < end.y ? 1 : -1
        var error = dx + dy
        let low = -(thickness - 1) / 2
        let high = thickness / 2
        while true {
            for offsetY in low...high {
                for offsetX in low...high { set(x + offsetX, y + offsetY, color) }
            }
            if x == end.x, y == end.y { break }
            let doubled = 2 * error
            if doubled >= dy {
                error += dy
                x += stepX
            }
            if doubled <= dx {
                error += dx
                y += stepY
            }
        }
    }

    /// Text in the 5×7 font with its top-left corner at (x, y), each font pixel `scale`
    /// pixels square; lowercase prints as uppercase.
    mutating func text(_ string: String, x: Int, y: Int, _ color: Color, scale: Int = 1) {
        var left = x
        for character in string {
            let rows = BitmapFont.rows(for: character)
            for (row, bits) in rows.enumerated() {
                for column in 0..<BitmapFont.width where bits & (1 << (BitmapFont.width - 1 - column)) != 0 {
                    fill(x: left + column * scale, y: y + row * scale, width: scale, height: scale, color)
                }
            }
            left += BitmapFont.advance * scale
        }
    }

    /// How wide `string` prints at `scale`.
    static func textWidth(_ string: String, scale: Int = 1) -> Int {
        max(0, string.count * BitmapFont.advance - 1) * scale
    }
}
