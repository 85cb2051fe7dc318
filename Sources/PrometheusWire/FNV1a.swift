/// FNV-1a, 64 bits: a hash that never depends on the process or the machine (Swift's `Hasher` is
/// seeded per process), for what must come out the same everywhere: shard assignments, block names.
public struct FNV1a: Sendable {
    public static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    static let prime: UInt64 = 0x0000_0100_0000_01B3

    public private(set) var value: UInt64

    public init(basis: UInt64 = FNV1a.offsetBasis) {
        value = basis
    }

    @inline(__always)
    public mutating func add(_ byte: UInt8) {
        value = (value ^ UInt64(byte)) &* Self.prime
    }

    public mutating func add<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        for byte in bytes { add(byte) }
    }
}
