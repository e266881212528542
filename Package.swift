// swift-tools-version: 6.2
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    // Generic building blocks (the cache, the SQL layer) are specialized where they are
    // used instead of going through runtime generics: measured in BENCHMARKS.md.
    .unsafeFlags(["-cross-module-optimization"], .when(configuration: .release)),
]

let package = Package(
    name: "fleet",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "fleet", targets: ["fleet"]),
        .library(name: "FleetSupport", targets: ["FleetSupport"]),
        .library(name: "FleetResilience", targets: ["FleetResilience"]),
        .library(name: "FleetData", targets: ["FleetData"]),
        .library(name: "FleetJobs", targets: ["FleetJobs"]),
        .library(name: "FleetMail", targets: ["FleetMail"]),
        .library(name: "FleetHTTP", targets: ["FleetHTTP"]),
        .library(name: "FleetObservability", targets: ["FleetObservability"]),
        .library(name: "FleetRedis", targets: ["FleetRedis"]),
        .library(name: "FleetCache", targets: ["FleetCache"]),
        .library(name: "FleetRateLimit", targets: ["FleetRateLimit"]),
        .library(name: "FleetApp", targets: ["FleetApp"]),
        .library(name: "FleetLoad", targets: ["FleetLoad"]),
    ],
    traits: [
        // OTLP export of traces through swift-otel. Off by default: swift-otel and its
        // protobuf code add minutes to a clean build (measured in BENCHMARKS.md), and
        // without it every span is a no-op. `swift build --traits OTLP` turns it on.
        .trait(name: "OTLP", description: "Export traces over OTLP/HTTP (swift-otel)"),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: [.defaults, "CommandLineArguments"]),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.1.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.3.0"),
        // Only OTLP over HTTP (protobuf): no gRPC stack.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        // SQLite from the system (Debian: libsqlite3-dev).
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // Building blocks: they know nothing of Conduit.
        // Clocks, durations, URLs, hashing: what every other module would otherwise write again.
        .target(name: "FleetSupport", swiftSettings: strict),
        // Circuit breakers, retries under a budget, bulkheads and an adaptive concurrency limit.
        .target(
            name: "FleetResilience",
            dependencies: [
                "FleetSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "FleetData",
            dependencies: [
                "CSQLite", "FleetResilience", "FleetSupport",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strict
        ),
        // Durable jobs in the database of the change that made them (knows nothing of Conduit).
        .target(
            name: "FleetJobs",
            dependencies: [
                "FleetData", "FleetSupport",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // Fleet's own small SMTP client (knows nothing of Conduit).
        .target(
            name: "FleetMail",
            dependencies: [
                "FleetSupport",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "FleetRedis",
            dependencies: [
                "FleetResilience", "FleetSupport",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "FleetCache",
            dependencies: [
                "FleetRedis", "FleetSupport",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "FleetRateLimit",
            dependencies: [
                "FleetRedis", "FleetSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "FleetObservability",
            dependencies: [
                "FleetSupport",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "OTel", package: "swift-otel", condition: .when(traits: ["OTLP"])),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "FleetHTTP",
            dependencies: [
                "FleetObservability", "FleetRateLimit", "FleetResilience", "FleetSupport",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),
        // A load generator: open and closed models, HdrHistogram recording, reports with PNG
        // plots and an SLO verdict (knows nothing of Conduit).
        .target(
            name: "FleetLoad",
            dependencies: [
                "FleetSupport",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: strict
        ),
        // The Conduit domain.
        .target(
            name: "FleetApp",
            dependencies: [
                "FleetData", "FleetHTTP", "FleetObservability", "FleetCache", "FleetRedis", "FleetRateLimit", "FleetSupport",
                "FleetResilience", "FleetJobs", "FleetMail",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: strict
        ),
        // The one executable that wires everything together.
        .executableTarget(
            name: "fleet",
            dependencies: [
                "FleetApp", "FleetData", "FleetJobs", "FleetLoad", "FleetObservability", "FleetRedis", "FleetSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // Helpers for tests: real servers (redis-server) started and stopped per test.
        .target(
            name: "FleetTestSupport",
            dependencies: ["FleetData", .product(name: "Logging", package: "swift-log")],
            path: "Tests/Support",
            swiftSettings: strict
        ),
        .testTarget(name: "FleetSupportTests", dependencies: ["FleetSupport"], swiftSettings: strict),
        .testTarget(name: "FleetMailTests", dependencies: ["FleetMail", "FleetTestSupport"], swiftSettings: strict),
        .testTarget(name: "FleetResilienceTests", dependencies: ["FleetResilience", "FleetSupport", .product(name: "Logging", package: "swift-log")], swiftSettings: strict),
        .testTarget(name: "FleetLoadTests", dependencies: ["FleetLoad"], swiftSettings: strict),
        .testTarget(
            name: "FleetObservabilityTests",
            dependencies: [
                "FleetObservability",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "FleetDataTests", dependencies: ["FleetData", "FleetTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "FleetJobsTests",
            dependencies: [
                "FleetJobs", "FleetData", "FleetSupport", "FleetTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "FleetRateLimitTests",
            dependencies: [
                "FleetRateLimit", "FleetRedis", "FleetTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "FleetCacheTests",
            dependencies: [
                "FleetCache", "FleetRedis", "FleetSupport", "FleetTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "FleetRedisTests",
            dependencies: [
                "FleetRedis", "FleetTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "FleetHTTPTests",
            dependencies: [
                "FleetHTTP", "FleetRateLimit", "FleetResilience", "FleetSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "FleetAppTests",
            dependencies: [
                "FleetApp", "FleetData", "FleetHTTP", "FleetObservability", "FleetCache", "FleetRedis", "FleetResilience", "FleetJobs", "FleetTestSupport",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
    ]
)
