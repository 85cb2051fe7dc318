import PrometheusWire

/// Block names: ULIDs (26 characters of Crockford's base32 for 128 bits: a 48-bit time in ms, then 80
/// bits that are random in Prometheus).
///
/// `prom-archive blocks` derives both parts from what the block holds (its window's start, and a
/// name for the archive and the options), so that a re-run names each block as the first run did
/// and can tell a finished block from one still to write.
public enum BlockULID {
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    /// The ULID of time `timeMs` (clamped to 0...2^48-1) whose other 80 bits are a hash of `seed`.
    public static func make(timeMs: Int64, seed: [UInt8]) -> String {
        let time = UInt64(min(max(timeMs, 0), (1 << 48) - 1))
        var first = FNV1a(), second = FNV1a(basis: 0x6c62_272e_07bb_0142)
        first.add(seed)
        second.add(seed)
        let (a, b) = (first.value, second.value)
        let high = time << 16 | a >> 48
        let low = a << 16 | b & 0xFFFF
        var characters: [UInt8] = []
        // 26 characters of 5 bits over 128 bits: the first one takes the top 3.
        for index in 0..<26 {
            let shift = 125 - 5 * index
            let value = shift >= 64 ? high >> UInt64(shift - 64) : (shift > 59 ? (high << UInt64(64 - shift)) | (low >> UInt64(shift)) : low >> UInt64(shift))
            characters.append(alphabet[Int(value & (index == 0 ? 0x7 : 0x1F))])
        }
        return String(decoding: characters, as: UTF8.self)
    }
}
