public import FleetCache
public import FleetRedis
import FleetResilience
public import Logging

/// Redis as the app uses it: one client, and the cache bus over it. Both are services of
/// the application; start-up never waits for Redis: without it the caches work from L1
/// and the rate limiter locally, and both take Redis up as soon as it answers.
public struct RedisServices: Sendable {
    public let client: RedisClient
    public let bus: CacheBus

    /// The client and bus `redis.url` names, or nil without one.
    static func make(_ settings: FleetSettings, breakers: CircuitBreakers? = nil, logger: Logger) throws -> RedisServices? {
        guard let url = settings.redisURL else { return nil }
        var configuration = try RedisConfiguration(url: url)
        configuration.connections = settings.redisConnections
        configuration.commandTimeout = settings.redisTimeout
        configuration.connectTimeout = settings.redisTimeout
        let client = RedisClient(configuration, breakers: breakers, logger: logger)
        return RedisServices(client: client, bus: CacheBus(redis: client, configuration: configuration, logger: logger))
    }
}
