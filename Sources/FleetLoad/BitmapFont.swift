/// A 5×7 pixel font for chart labels: digits, capital letters and the punctuation numbers
/// and units need. Each glyph is seven rows of five bits, the top row in the highest byte.
enum BitmapFont {
    static let width = 5
    static let height = 7
    /// From one character's left edge to the next one's (a column of space between).
    static let advance = 6

    /// The rows of `character`'s glyph, top first; `?` for one the font lacks.
    static func rows(for character: Character) -> [UInt8] {
        let upper = character.uppercased().first ?? character
        let bits = glyphs[upper] ?? glyphs["?"] ?? 0
        return (0..<height).map { UInt8((bits >> (8 * UInt64(height - 1 - $0))) & 0x1F) }
    }

    private static let glyphs: [Character: UInt64] = [
        "0": 0x0E_11_13_15_19_11_0E, "1": 0x04_0C_04_04_04_04_0E, "2": 0x0E_11_01_02_04_08_1F, "3": 0x1F_02_04_02_01_11_0E,
        "4": 0x02_06_0A_12_1F_02_02, "5": 0x1F_10_1E_01_01_11_0E, "6": 0x06_08_10_1E_11_11_0E, "7": 0x1F_01_02_04_08_08_08,
        "8": 0x0E_11_11_0E_11_11_0E, "9": 0x0E_11_11_0F_01_02_0C,
        "A": 0x0E_11_11_1F_11_11_11, "B": 0x1E_11_11_1E_11_11_1E, "C": 0x0E_11_10_10_10_11_0E, "D": 0x1C_12_11_11_11_12_1C,
        "E": 0x1F_10_10_1E_10_10_1F, "F": 0x1F_10_10_1E_10_10_10, "G": 0x0E_11_10_17_11_11_0F, "H": 0x11_11_11_1F_11_11_11,
        "I": 0x0E_04_04_04_04_04_0E, "J": 0x07_02_02_02_02_12_0C, "K": 0x11_12_14_18_14_12_11, "L": 0x10_10_10_10_10_10_1F,
        "M": 0x11_1B_15_15_11_11_11, "N": 0x11_11_19_15_13_11_11, "O": 0x0E_11_11_11_11_11_0E, "P": 0x1E_11_11_1E_10_10_10,
        "Q": 0x0E_11_11_11_15_12_0D, "R": 0x1E_11_11_1E_14_12_11, "S": 0x0F_10_10_0E_01_01_1E, "T": 0x1F_04_04_04_04_04_04,
        "U": 0x11_11_11_11_11_11_0E, "V": 0x11_11_11_11_11_0A_04, "W": 0x11_11_11_15_15_15_0A, "X": 0x11_11_0A_04_0A_11_11,
        "Y": 0x11_11_11_0A_04_04_04, "Z": 0x1F_01_02_04_08_10_1F,
        " ": 0, ".": 0x00_00_00_00_00_0C_0C, ",": 0x00_00_00_00_0C_04_08, "-": 0x00_00_00_1F_00_00_00,
        "/": 0x00_01_02_04_08_10_00, "%": 0x18_19_02_04_08_13_03, "(": 0x02_04_08_08_08_04_02, ")": 0x08_04_02_02_02_04_08,
        ":": 0x00_0C_0C_00_0C_0C_00, "=": 0x00_00_1F_00_1F_00_00, "_": 0x00_00_00_00_00_00_1F, "+": 0x00_04_04_1F_04_04_00,
        "?": 0x0E_11_01_02_04_00_04,
    ]
}
