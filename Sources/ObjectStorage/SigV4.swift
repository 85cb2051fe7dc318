import Crypto
import HTTPTransport
import FoundationEssentials

/// AWS Signature Version 4 for S3 requests
/// (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html).
///
/// Every header the request carries is signed, `host` and `x-amz-date` and `x-amz-content-sha256`
/// included; the payload is always hashed (the caller holds the body), so the server checks it too.
public struct SigV4Signer: Sendable {
    public let credentials: S3Credentials
    public let region: String

    public init(credentials: S3Credentials, region: String) {
        self.credentials = credentials
        self.region = region
    }

    /// The headers to add to a request: `x-amz-date`, `x-amz-content-sha256`, `x-amz-security-token`
    /// with a session token, and `authorization`. `headers` must hold `host` and every other header
    /// that will be sent; `path` is already percent-encoded (`S3Path.encode`), as it goes on the wire.
    public func sign(method: String, path: String, query: [(String, String)], headers: [(String, String)],
                     payloadSHA256 hex: String, date: AmzDate) -> [(String, String)] {
        var all = headers.map { ($0.0.lowercased(), $0.1.trimmingSpaces) }
        var added = [("x-amz-date", date.stamp), ("x-amz-content-sha256", hex)]
        if let token = credentials.sessionToken { added.append(("x-amz-security-token", token)) }
        all += added
        all.sort { $0.0 < $1.0 }
        let signedHeaders = all.map(\.0).joined(separator: ";")
        let encodedQuery: [(name: String, value: String)] = query.map { pair in
            (S3Path.encode(pair.0, keepSlash: false), S3Path.encode(pair.1, keepSlash: false))
        }
        let sortedQuery = encodedQuery.sorted { a, b in a.name == b.name ? a.value < b.value : a.name < b.name }
        let canonicalQuery = sortedQuery.map { pair in pair.name + "=" + pair.value }.joined(separator: "&")
        let canonicalRequest = [method, path, canonicalQuery, all.map { "\($0.0):\($0.1)\n" }.joined(), signedHeaders, hex]
            .joined(separator: "\n")
        let scope = "\(date.day)/\(region)/s3/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", date.stamp, scope, Self.hex(SHA256.hash(data: Array(canonicalRequest.utf8)))]
            .joined(separator: "\n")
        var key = SymmetricKey(data: Array(("AWS4" + credentials.secretAccessKey).utf8))
        for part in [date.day, region, "s3", "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
        added.append(("authorization", "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope),"
            + "SignedHeaders=\(signedHeaders),Signature=\(signature)"))
        return added
    }

    static func hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// SHA-256 of a payload: lowercase hex for the signature, base64 for `x-amz-checksum-sha256`.
    public static func payloadDigest(_ body: [UInt8]) -> (hex: String, base64: String) {
        let digest = Array(SHA256.hash(data: body))
        return (hex(digest), Data(digest).base64EncodedString())
    }
}

/// The time a request is signed at, in the two forms SigV4 uses.
public struct AmzDate: Sendable {
    /// `YYYYMMDDTHHMMSSZ`
    public let stamp: String
    /// `YYYYMMDD`
    public var day: String { String(stamp.prefix(8)) }

    public init(stamp: String) { self.stamp = stamp }

    /// `secondsSinceEpoch` in UTC.
    public init(secondsSinceEpoch: Int64) {
        let days = secondsSinceEpoch >= 0 ? secondsSinceEpoch / 86_400 : (secondsSinceEpoch - 86_399) / 86_400
        let second = secondsSinceEpoch - days * 86_400
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        stamp = "\(y)\(two(m))\(two(d))T\(two(second / 3600))\(two(second / 60 % 60))\(two(second % 60))Z"
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return String(s)
    }
}

/// Percent-encoding of object keys and query values as SigV4 canonicalises them.
public enum S3Path {
    /// Everything but `A–Z a–z 0–9 - . _ ~` (and `/` when `keepSlash`) as `%XX`, upper-case hex.
    public static func encode(_ text: String, keepSlash: Bool) -> String {
        PercentEncoding.encode(text, keepingSlash: keepSlash)
    }
}
