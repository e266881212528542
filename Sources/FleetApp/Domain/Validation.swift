import FleetHTTP

/// Collects every problem with an input before failing, so a client learns all of them
/// at once, and fails with 422 in the Conduit shape.
struct Validator {
    private(set) var errors: [String: [String]] = [:]

    mutating func add(_ field: String, _ message: String) {
        errors[field, default: []].append(message)
    }

    /// Checks a required text field: present, not blank, within `maxLength` characters.
    mutating func required(_ field: String, _ value: String?, maxLength: Int) -> String {
        guard let value, !value.allSatisfy(\.isWhitespace) else {
            add(field, "can't be blank")
            return ""
        }
        checkLength(field, value, maxLength: maxLength)
        return value
    }

    mutating func checkLength(_ field: String, _ value: String, maxLength: Int) {
        if value.count > maxLength { add(field, "is too long (maximum is \(maxLength) characters)") }
    }

    func check() throws(APIError) {
        if !errors.isEmpty { throw APIError(.unprocessableContent, errors) }
    }
}

/// The rules for each kind of input, in one place.
enum Rules {
    static let usernameMaxLength = 64
    static let emailMaxLength = 254
    static let passwordMinLength = 8
    /// bcrypt reads at most 72 bytes; longer passwords are refused rather than truncated.
    static let passwordMaxBytes = 72
    static let bioMaxLength = 2_000
    static let imageMaxLength = 2_048
    static let titleMaxLength = 256
    static let descriptionMaxLength = 1_024
    static let articleBodyMaxLength = 100_000
    static let tagMaxLength = 64
    static let tagsMaxCount = 20
    static let commentMaxLength = 10_000
    static let maxLimit = 100
    static let maxOffset = 1_000_000

    static func username(_ value: String?, into validator: inout Validator) -> String {
        let username = validator.required("username", value, maxLength: usernameMaxLength)
        if !username.isEmpty,
            !username.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || $0.properties.numericType != nil || "_-.".unicodeScalars.contains($0)) })
        {
            validator.add("username", "may contain only letters, digits, '_', '-' and '.'")
        }
        return username
    }

    static func email(_ value: String?, into validator: inout Validator) -> String {
        let email = validator.required("email", value, maxLength: emailMaxLength).trimmingWhitespace()
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
        if value.count < passwordMinLength { validator.add("password", "is too short (minimum is \(passwordMinLength) characters)") }
        if value.utf8.count > passwordMaxBytes { validator.add("password", "is too long (maximum is \(passwordMaxBytes) bytes)") }
        return value
    }

    /// Optional text where an empty string means "none".
    static func optionalText(_ field: String, _ value: String?, maxLength: Int, into validator: inout Validator) -> String? {
        guard let value, !value.isEmpty else { return nil }
        validator.checkLength(field, value, maxLength: maxLength)
        return value
    }

    static func image(_ value: String?, into validator: inout Validator) -> String? {
        guard let image = optionalText("image", value, maxLength: imageMaxLength, into: &validator) else { return nil }
        let lower = image.lowercased()
        if !(lower.hasPrefix("https://") || lower.hasPrefix("http://")) || image.contains(where: \.isWhitespace) {
            validator.add("image", "must be an http(s) URL")
        }
        return image
    }

    /// Trims, drops empties and duplicates (keeping first-seen order), and bounds tags.
    static func tags(_ values: [String]?, into validator: inout Validator) -> [String] {
        var seen = Set<String>()
        var tags: [String] = []
        for raw in values ?? [] {
            let tag = raw.trimmingWhitespace()
            guard !tag.isEmpty, seen.insert(tag).inserted else { continue }
            if tag.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                validator.add("tagList", "tag may not contain control characters")
            }
            if tag.count > tagMaxLength {
                validator.add("tagList", "tag is too long (maximum is \(tagMaxLength) characters)")
            }
            tags.append(tag)
        }
        if tags.count > tagsMaxCount { validator.add("tagList", "has too many tags (maximum is \(tagsMaxCount))") }
        return tags
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

extension APIError {
    static func notFound(_ what: String) -> APIError { APIError(.notFound, field: what, "not found") }
    static func forbidden(_ what: String) -> APIError { APIError(.forbidden, field: what, "forbidden") }
    static func taken(_ field: String) -> APIError { APIError(.conflict, field: field, "has already been taken") }
    static let missingToken = APIError(.unauthorized, field: "token", "is missing", headers: [.wwwAuthenticate: "Token"])
    static let invalidToken = APIError(.unauthorized, field: "token", "is invalid", headers: [.wwwAuthenticate: "Token"])
    static let invalidCredentials = APIError(.unauthorized, field: "credentials", "invalid")
}
