/// Percent-encoding of URL components (RFC 3986): every byte but the unreserved characters
/// `A–Z a–z 0–9 - . _ ~` as `%XX` with upper-case hex. One rule for every client that builds a query
/// or a path: S3's SigV4 canonical form requires exactly this, and any server accepts it.
public enum PercentEncoding {
    /// `text` encoded; with `keepingSlash`, `/` stays as it is (an object key's path).
    public static func encode(_ text: String, keepingSlash: Bool = false) -> String {
        let hexDigits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            case UInt8(ascii: "/") where keepingSlash:
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 15)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
