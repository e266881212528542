public import FleetData

/// Article slugs: a readable part from the title, then the article's id in base 36
/// (`how-to-train-your-dragon-1x2y3z4a5b`). The id makes every slug unique even for equal
/// titles, and routes a slug to its shard without a lookup; the title part is cosmetic.
public enum Slug {
    static let maxReadableLength = 80

    public static func make(title: String, id: FleetID) -> String {
        var readable = ""
        var pendingDash = false
        for scalar in title.lowercased().unicodeScalars {
            if scalar.isASCII, scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
                if pendingDash, !readable.isEmpty { readable += "-" }
                readable.unicodeScalars.append(scalar)
                pendingDash = false
                if readable.count >= maxReadableLength { break }
            } else {
                pendingDash = true
            }
        }
        return (readable.isEmpty ? "article" : readable) + "-" + id.base36
    }

    /// The article id a slug carries, or nil for a string that is no slug of ours.
    public static func id(in slug: String) -> FleetID? {
        guard slug.utf8.count <= 256, let dash = slug.lastIndex(of: "-") else { return nil }
        return FleetID(base36: slug[slug.index(after: dash)...])
    }
}
