/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by streamed remote-read frames.
///
/// Slicing-by-8 tables; check value: `CRC32C.checksum("123456789")` is `0xE3069283`.
public enum CRC32C {
    /// Eight 256-entry tables laid end to end: entry `t * 256 + i`.
    static let table: [UInt32] = {
        var tables = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 8)
        for i in 0..<256 {
            var crc = UInt32(i)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
            tables[0][i] = crc
        }
        for i in 0..<256 {
            for t in 1..<8 {
                let previous = tables[t - 1][i]
                tables[t][i] = (previous >> 8) ^ tables[0][Int(previous & 0xff)]
            }
        }
        return tables.flatMap { $0 }
    }()

    /// The checksum of `bytes`; with `continuing`, the checksum of whatever gave `continuing` followed by
    /// `bytes` (`checksum(b, continuing: checksum(a)) == checksum(a + b)`), so a long section can be
    /// checked piece by piece.
    public static func checksum<Bytes: Collection>(_ bytes: Bytes, continuing previous: UInt32 = 0) -> UInt32 where Bytes.Element == UInt8 {
        let flat = table
        var crc: UInt32 = ~previous
        let done: Bool? = bytes.withContiguousStorageIfAvailable { buffer in
            flat.withUnsafeBufferPointer { t in
                var i = 0
                let n = buffer.count
                while n - i >= 8 {
                    let low = crc ^ (UInt32(buffer[i]) | UInt32(buffer[i + 1]) << 8 | UInt32(buffer[i + 2]) << 16 | UInt32(buffer[i + 3]) << 24)
                    crc = t[7 * 256 + Int(low & 0xff)] ^ t[6 * 256 + Int((low >> 8) & 0xff)]
                        ^ t[5 * 256 + Int((low >> 16) & 0xff)] ^ t[4 * 256 + Int(low >> 24)]
                        ^ t[3 * 256 + Int(buffer[i + 4])] ^ t[2 * 256 + Int(buffer[i + 5])]
                        ^ t[1 * 256 + Int(buffer[i + 6])] ^ t[Int(buffer[i + 7])]
                    i += 8
                }
                while i < n {
                    crc = (crc >> 8) ^ t[Int((crc ^ UInt32(buffer[i])) & 0xff)]
                    i += 1
                }
                return true
            }
        }
        if done == nil {
            for byte in bytes { crc = (crc >> 8) ^ flat[Int((crc ^ UInt32(byte)) & 0xff)] }
        }
        return ~crc
    }
}
