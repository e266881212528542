import FleetHTTP
import Testing

@Suite struct ClientAddressTests {
    let resolver = ClientAddressResolver(trustedProxies: ["10.0.0.0/8", "::1"].compactMap { CIDR($0) })

    @Test func parsesAddressesAndNetworks() throws {
        #expect(IPAddress("192.168.1.7")?.description == "192.168.1.7")
        #expect(IPAddress("::ffff:1.2.3.4")?.isIPv4 == true)
        #expect(IPAddress("[2001:db8::1]") != nil)
        #expect(IPAddress("not an ip") == nil && IPAddress("999.1.1.1") == nil)
        let network = try #require(CIDR("10.1.0.0/16"))
        #expect(network.contains(try #require(IPAddress("10.1.200.3"))))
        #expect(!network.contains(try #require(IPAddress("10.2.0.1"))))
        #expect(CIDR("10.0.0.0/33") == nil && CIDR("fd00::/129") == nil)
        #expect(try #require(CIDR("fd00::/8")).contains(try #require(IPAddress("fdab::1"))))
    }

    @Test func forwardedForIsBelievedOnlyFromTrustedProxies() {
        let proxy = IPAddress("10.0.0.5")
        let stranger = IPAddress("203.0.113.9")
        // A direct client cannot choose its address by sending the header.
        #expect(resolver.client(peer: stranger, forwardedFor: ["1.2.3.4"]) == stranger)
        // Behind our proxy, the rightmost untrusted hop is the client, whatever the client wrote on the left.
        #expect(resolver.client(peer: proxy, forwardedFor: ["6.6.6.6, 198.51.100.7", "10.0.0.9"]) == IPAddress("198.51.100.7"))
        // Garbage stops the walk at the last good hop.
        #expect(resolver.client(peer: proxy, forwardedFor: ["junk, 198.51.100.7"]) == IPAddress("198.51.100.7"))
        #expect(resolver.client(peer: proxy, forwardedFor: []) == proxy)
    }

    @Test func ipv6ClientsAreKeyedByTheirSlash56() {
        let a = ClientAddressResolver.key(for: IPAddress("2001:db8:aa:bb01::1"))
        let b = ClientAddressResolver.key(for: IPAddress("2001:db8:aa:bbff:ffff::9"))
        let c = ClientAddressResolver.key(for: IPAddress("2001:db8:aa:cc00::1"))
        #expect(a == b && a != c)
        #expect(ClientAddressResolver.key(for: IPAddress("192.0.2.1")) == "192.0.2.1")
    }
}
