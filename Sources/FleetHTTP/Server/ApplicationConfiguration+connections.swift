public import Hummingbird
import HummingbirdCore
public import Logging

extension ApplicationConfiguration {
    /// A server that holds at most `maxConnections` client connections: past it, it stops
    /// accepting (new connections wait in the kernel's listen backlog) until one closes,
    /// instead of running out of file descriptors.
    public static func serving(_ address: BindAddress, serverName: String, maxConnections: Int, logger: Logger) -> ApplicationConfiguration {
        ApplicationConfiguration(
            address: address, serverName: serverName, availableConnectionsDelegate: MaximumAvailableConnections(maxConnections, logger: logger)
        )
    }
}
