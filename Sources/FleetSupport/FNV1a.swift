/// FNV-1a, 64 bits: a fast, stable hash for placing keys (a username on a shard). Stable
/// across processes and releases, unlike `Hasher`, which is seeded per process.
public enum FNV1a {
    @inlinable
    public static func hash(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        return hash
    }
}
