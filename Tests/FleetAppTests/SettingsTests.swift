import Configuration
@testable import FleetApp
import Foundation
import Testing

@Suite struct SettingsTests {
    @Test func defaultsAreTheEmbeddedTopology() throws {
        let settings = try FleetSettings(config: ConfigReader(provider: InMemoryProvider(values: [:])))
        #expect(settings.httpHost == "127.0.0.1")
        #expect(settings.httpPort == 8080)
        #expect(settings.databasePath == "./data/fleet.sqlite")
        #expect(settings.bcryptCost == 12)
        #expect(settings.jwtSecret == nil)
    }

    /// A flag given twice is refused, not silently dropped (it would read as a list).
    @Test func aFlagGivenTwiceIsRefused() async throws {
        await #expect(throws: SettingsError.self) {
            _ = try await FleetSettings.reader(arguments: ["--ratelimit-enabled", "false", "--ratelimit-enabled", "false"], configFile: nil)
        }
        let reader = try await FleetSettings.reader(arguments: ["--ratelimit-enabled", "false", "--http-port", "9090"], configFile: nil)
        let settings = try FleetSettings(config: reader)
        #expect(!settings.rateLimitEnabled && settings.httpPort == 9090)
    }

    @Test func flagsBeatEnvironmentBeatsFile() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-\(UUID().uuidString).json")
        try Data(#"{"http": {"port": 7000, "host": "0.0.0.0"}, "log": {"level": "debug"}}"#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let env = EnvironmentVariablesProvider(environmentVariables: ["FLEET_HTTP_PORT": "7100", "FLEET_AUTH_BCRYPT_COST": "5"])
        let reader = ConfigReader(providers: [
            CommandLineArgumentsProvider(arguments: ["fleet", "--http-port", "7200"]),
            KeyMappingProvider(upstream: env) { $0.prepending(["fleet"]) },
            try await FileProvider<JSONSnapshot>(filePath: .init(file.path)),
        ])
        let settings = try FleetSettings(config: reader)
        #expect(settings.httpPort == 7200)
        #expect(settings.bcryptCost == 5)
        #expect(settings.httpHost == "0.0.0.0")
        #expect(settings.logLevel == .debug)
    }

    @Test(arguments: [
        ["auth.bcrypt.cost": 2], ["http.port": 70000], ["database.sqlite.readers": 0], ["http.body.limit.bytes": 10],
    ] as [[String: Int]])
    func outOfRangeValuesAreRefused(values: [String: Int]) {
        let provider = InMemoryProvider(values: Dictionary(uniqueKeysWithValues: values.map { (AbsoluteConfigKey(stringLiteral: $0.key), ConfigValue(.int($0.value), isSecret: false)) }))
        #expect(throws: SettingsError.self) { try FleetSettings(config: ConfigReader(provider: provider)) }
    }

    /// A malformed value is refused, not replaced by the default (`--http-port abc` must not
    /// start on 8080), from a flag, the environment or a file alike.
    @Test(arguments: [
        ["--http-port", "abc"], ["--http-shedding-enabled", "flase"], ["--tracing-sample-ratio", "half"],
        ["--recommender-timeout-ms", "300ms"],
    ])
    func malformedValuesAreRefused(arguments: [String]) async throws {
        let reader = try await FleetSettings.reader(arguments: arguments, configFile: nil)
        #expect(throws: SettingsError.self) { try FleetSettings(config: reader) }
    }

    @Test func aMalformedValueInTheEnvironmentOrAFileIsRefused() async throws {
        let env = EnvironmentVariablesProvider(environmentVariables: ["FLEET_AUTH_BCRYPT_COST": "twelve"])
        #expect(throws: SettingsError.self) {
            try FleetSettings(config: ConfigReader(providers: [KeyMappingProvider(upstream: env) { $0.prepending(["fleet"]) }]))
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-\(UUID().uuidString).json")
        try Data(#"{"http": {"port": "eighty"}}"#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let provider = try await FileProvider<JSONSnapshot>(filePath: .init(file.path))
        #expect(throws: SettingsError.self) { try FleetSettings(config: ConfigReader(provider: provider)) }
    }

    @Test func shortSecretsAndUnknownLevelsAreRefused() {
        #expect(throws: SettingsError.self) {
            try FleetSettings(config: ConfigReader(provider: InMemoryProvider(values: ["auth.jwt.secret": .init(.string("short"), isSecret: true)])))
        }
        #expect(throws: SettingsError.self) {
            try FleetSettings(config: ConfigReader(provider: InMemoryProvider(values: ["log.level": .init(.string("loud"), isSecret: false)])))
        }
    }

    @Test func everySettingIsDocumented() {
        #expect(FleetSettings.documentation.count >= 16)
        #expect(Set(FleetSettings.documentation.map(\.key)).count == FleetSettings.documentation.count)
    }
}

@Suite struct ReadmeTests {
    /// The README's configuration table is what users read; every setting must be in it.
    @Test func readmeDocumentsEverySetting() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        for entry in FleetSettings.documentation {
            let env = "FLEET_" + entry.key.uppercased().replacingOccurrences(of: ".", with: "_")
            #expect(text.contains("| `\(entry.key)` |"), "README lacks \(entry.key)")
            #expect(text.contains("`\(env)`"), "README lacks \(env)")
        }
    }
}
