import Foundation

/// Collects every problem with an input before failing, so a client learns all of them
/// at once, and fails with `ConduitError` (`.invalid`, 422) naming each field.
struct Validator {
    private(set) var errors: [String: [String]] = [:]

    mutating func add(_ field: String, _ message: String) {
        if errors[field]?.contains(message) != true { errors[field, default: []].append(message) }
    }

    /// A required text field: present, not blank, and within its rule; returns it in NFC.
    mutating func required(_ field: String, _ value: String?, _ rule: TextRule) -> String {
        guard let value, !value.allSatisfy(\.isWhitespace) else {
            add(field, "can't be blank")
            return ""
        }
        return text(field, value, rule)
    }

    /// Any text field: normalised to NFC (what the databases compare, byte for byte), then
    /// checked against its rule. Returns the normalised text.
    mutating func text(_ field: String, _ value: String, _ rule: TextRule) -> String {
        let text = InputText.normalized(value)
        if let problem = rule.problem(with: text) { add(field, problem) }
        return text
    }

    func check() throws(ConduitError) {
        if !errors.isEmpty { throw ConduitError(.invalid, errors) }
    }
}

/// The limits and character rules of one kind of text. Lengths are counted both ways: in
/// characters (what a person sees, grapheme clusters) and in UTF-8 bytes (what is stored,
/// indexed and sent), because one character may be hundreds of bytes (a letter with
/// stacked combining marks).
struct TextRule: Sendable {
    var maxCharacters: Int
    var maxBytes: Int
    /// Names and tags: no control or format characters (Unicode Cc, Cf: zero-width space,
    /// bidi overrides), which make equal-looking names differ.
    var identifier = false

    /// The first thing wrong with already-normalised text, or nil.
    func problem(with text: String) -> String? {
        if text.utf8.contains(0) { return "may not contain NUL characters" }
        if identifier, text.unicodeScalars.contains(where: InputText.isControlOrFormat) {
            return "may not contain control or format characters"
        }
        if text.utf8.count > maxBytes { return "is too long (maximum is \(maxBytes) bytes)" }
        if text.count > maxCharacters { return "is too long (maximum is \(maxCharacters) characters)" }
        return nil
    }
}

/// Text as it comes from clients.
enum InputText {
    /// Canonical composition (NFC): `café` typed as `e` + combining accent and as `é`
    /// become the same bytes. Swift's `==` already treats them as equal; SQL does not.
    static func normalized(_ text: String) -> String {
        // ASCII is NFC already: the common case costs one scan.
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return text }
        return text.precomposedStringWithCanonicalMapping
    }

    /// The text as typed, when it is not in NFC already (nil when it is, or absent): what
    /// accounts made before input was normalised may have stored.
    static func typed(_ text: String?) -> String? {
        guard let text, !normalized(text).unicodeScalars.elementsEqual(text.unicodeScalars) else { return nil }
        return text
    }

    static func isControlOrFormat(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format: true
        default: false
        }
    }
}

/// The rules for each kind of input, in one place.
enum Rules {
    static let username = TextRule(maxCharacters: 64, maxBytes: 64, identifier: true)
    static let email = TextRule(maxCharacters: 254, maxBytes: 254, identifier: true)
    static let passwordMinLength = 8
    /// bcrypt reads at most 72 bytes; longer passwords are refused rather than truncated.
    static let passwordMaxBytes = 72
    static let bio = TextRule(maxCharacters: 2_000, maxBytes: 8_000)
    static let image = TextRule(maxCharacters: 2_048, maxBytes: 2_048, identifier: true)
    static let title = TextRule(maxCharacters: 256, maxBytes: 1_024)
    static let description = TextRule(maxCharacters: 1_024, maxBytes: 4_096)
    static let articleBody = TextRule(maxCharacters: 100_000, maxBytes: 400_000)
    static let comment = TextRule(maxCharacters: 10_000, maxBytes: 40_000)
    static let tag = TextRule(maxCharacters: 64, maxBytes: 256, identifier: true)
    static let tagsMaxCount = 20
    static let maxLimit = 100
    /// Deeper pages cost every shard `offset + limit` rows: past this, a client pages by
    /// narrowing its filter instead.
    static let maxOffset = 10_000

    static func username(_ value: String?, into validator: inout Validator) -> String {
        let username = validator.required("username", value, Self.username)
        if !username.isEmpty, !isUsername(username) {
            validator.add("username", "may contain only letters, digits, '_', '-' and '.'")
        }
        return username
    }

    /// Whether text could be someone's username (for lookups: anything else names nobody).
    static func isUsername(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= Self.username.maxBytes
            && text.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || $0.properties.numericType != nil || "_-.".unicodeScalars.contains($0)) }
    }

    static func email(_ value: String?, into validator: inout Validator) -> String {
        let email = validator.required("email", value?.trimmingWhitespace(), Self.email)
        if !email.isEmpty {
            let parts = email.split(separator: "@", omittingEmptySubsequences: false)
            if parts.count != 2 || parts[0].isEmpty || parts[1].isEmpty || email.contains(where: \.isWhitespace) {
                validator.add("email", "is invalid")
            }
        }
        return email.lowercased()
    }

    static func password(_ value: String?, into validator: inout Validator) -> String {
        guard let value, !value.isEmpty else {
            validator.add("password", "can't be blank")
            return ""
        }
        let password = InputText.normalized(value)
        // bcrypt stops at a NUL: everything after it would not count.
        if password.utf8.contains(0) { validator.add("password", "may not contain NUL characters") }
        if password.count < passwordMinLength { validator.add("password", "is too short (minimum is \(passwordMinLength) characters)") }
        if password.utf8.count > passwordMaxBytes { validator.add("password", "is too long (maximum is \(passwordMaxBytes) bytes)") }
        return password
    }

    /// Optional text where an empty string means "none".
    static func optionalText(_ field: String, _ value: String?, _ rule: TextRule, into validator: inout Validator) -> String? {
        guard let value, !value.isEmpty else { return nil }
        return validator.text(field, value, rule)
    }

    static func image(_ value: String?, into validator: inout Validator) -> String? {
        guard let image = optionalText("image", value, Self.image, into: &validator) else { return nil }
        let lower = image.lowercased()
        if !(lower.hasPrefix("https://") || lower.hasPrefix("http://")) || image.contains(where: \.isWhitespace) {
            validator.add("image", "must be an http(s) URL")
        }
        return image
    }

    /// Trims, normalises, drops empties and duplicates, bounds, and sorts tags: an
    /// article's `tagList` is alphabetical (by code point, as JavaScript sorts ASCII).
    static func tags(_ values: [String]?, into validator: inout Validator) -> [String] {
        var tags = Set<String>()
        for raw in values ?? [] {
            let tag = validator.text("tagList", raw.trimmingWhitespace(), Self.tag)
            if !tag.isEmpty { tags.insert(tag) }
        }
        if tags.count > tagsMaxCount { validator.add("tagList", "has too many tags (maximum is \(tagsMaxCount))") }
        return sortedTags(tags)
    }

    /// Tags in the order `tagList` shows them.
    static func sortedTags(_ tags: some Sequence<String>) -> [String] {
        tags.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
    }

    /// A query parameter used as a filter (`?tag=`, `?author=`): normalised; NUL refused.
    static func filter(_ name: String, _ value: String?, into validator: inout Validator) -> String? {
        guard let value else { return nil }
        return validator.text(name, value, TextRule(maxCharacters: .max, maxBytes: 1_024))
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var view = Substring(self)
        while let first = view.first, first.isWhitespace { view.removeFirst() }
        while let last = view.last, last.isWhitespace { view.removeLast() }
        return String(view)
    }
}
