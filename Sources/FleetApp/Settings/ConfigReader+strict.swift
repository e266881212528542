import Configuration

/// Typed reads that refuse a malformed value. swift-configuration's
/// `int(forKey:default:)` answers the default both when no source sets a key and when one
/// sets it to something that is not an integer, so `--http-port abc` would quietly start
/// on 8080; these tell the two apart and throw `SettingsError` for the second.
extension ConfigReader {
    /// The whole number under `key`, or `defaultValue` when no source sets it.
    func integer(forKey key: ConfigKey, default defaultValue: Int) throws -> Int {
        if let value = int(forKey: key) { return value }
        try refuseIfSet(key, as: "a whole number")
        return defaultValue
    }

    /// `true` or `false` under `key`, or `defaultValue` when no source sets it.
    func boolean(forKey key: ConfigKey, default defaultValue: Bool) throws -> Bool {
        if let value = bool(forKey: key) { return value }
        try refuseIfSet(key, as: "true or false")
        return defaultValue
    }

    /// The number under `key`, or `defaultValue` when no source sets it.
    func number(forKey key: ConfigKey, default defaultValue: Double) throws -> Double {
        if let value = double(forKey: key) { return value }
        try refuseIfSet(key, as: "a number")
        return defaultValue
    }

    /// Throws when a source sets `key` to a value that did not read as the expected type.
    private func refuseIfSet(_ key: ConfigKey, as expected: String) throws {
        guard let text = string(forKey: key) else { return }
        throw SettingsError("\(key.components.joined(separator: ".")) must be \(expected), not '\(text)'")
    }
}
