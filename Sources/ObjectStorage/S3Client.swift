import Glibc
import HTTPTransport
import FoundationEssentials
import NIOCore
public import NIOHTTP1

/// A small S3 client for one bucket: the object calls an archive needs, signed with SigV4 and
/// retried with backoff.
///
/// Calls block the calling thread until the store answers (the archive-location protocol is
/// synchronous, like the file system calls it stands beside); the HTTP work runs on SwiftNIO's
/// event loops, never on the caller's thread.
///
/// Retried, with exponential backoff from 0.2 s to 5 s over `maxAttempts`: connection failures,
/// 500, 502, 503, 504, 429 and the `SlowDown`, `InternalError` and `RequestTimeout` codes. Every
/// request is idempotent here (a retried PUT writes the same bytes; a conditional create that
/// already succeeded answers 412, which the caller handles).
public final class S3Client: Sendable {
    public let settings: S3Settings
    public let bucket: String
    let maxAttempts: Int
    let requestTimeoutSeconds: Int64

    /// One HTTP client for the process (the location objects come and go; connections are pooled).
    /// Its configuration has no TLS files, so making it cannot fail.
    private static let http = try! HTTPTransport(configuration: .init(connectTimeout: .seconds(10), readTimeout: .seconds(60)))

    /// The largest answer read: a ranged GET asks for at most 8 MiB, and a listing page holds 1,000 keys.
    static let maxReplyBytes = 64 << 20

    public init(settings: S3Settings, bucket: String, maxAttempts: Int = 8, requestTimeoutSeconds: Int64 = 300) {
        self.settings = settings
        self.bucket = bucket
        self.maxAttempts = maxAttempts
        self.requestTimeoutSeconds = requestTimeoutSeconds
    }

    public struct Reply: Sendable {
        public let status: Int
        public let headers: HTTPHeaders
        public let body: [UInt8]
        var text: Substring { Substring(String(decoding: body, as: UTF8.self)) }
        var etag: String? { headers.first(name: "etag") }
    }

    /// `s3://bucket/key`, for messages.
    public func url(_ key: String) -> String { "s3://\(bucket)/\(key)" }

    // MARK: Objects

    /// The object's size and ETag; nil when there is none.
    public func head(_ key: String) throws -> (size: Int, etag: String)? {
        let reply = try send("HEAD", key: key, accept: [200, 404])
        guard reply.status == 200 else { return nil }
        guard let size = reply.headers.first(name: "content-length").flatMap(Int.init) else {
            throw ObjectStoreError(.badReply, "\(url(key)): the store's HEAD answer has no Content-Length")
        }
        return (size, reply.etag ?? "")
    }

    /// `length` bytes from `offset` (fewer at the end of the object); `ifMatch` makes the read fail
    /// with `.preconditionFailed` when the object was replaced since that ETag was seen.
    public func get(_ key: String, offset: Int, length: Int, ifMatch: String? = nil) throws -> [UInt8] {
        var headers = [("range", "bytes=\(offset)-\(offset + length - 1)")]
        if let ifMatch { headers.append(("if-match", ifMatch)) }
        let reply = try send("GET", key: key, headers: headers, accept: [200, 206, 416])
        if reply.status == 416 { return [] }
        if reply.status == 200 { return Array(reply.body.dropFirst(offset).prefix(length)) }  // a store that ignores Range
        return reply.body
    }

    /// Writes the whole object in one request, its SHA-256 checked by the store
    /// (`x-amz-checksum-sha256`). `ifNoneMatch` creates it only when absent, `ifMatch` replaces only
    /// that version; either failing throws `.preconditionFailed`. Returns the new ETag.
    @discardableResult
    public func put(_ key: String, _ body: [UInt8], ifNoneMatch: Bool = false, ifMatch: String? = nil) throws -> String {
        var headers: [(String, String)] = [("content-type", "application/octet-stream")]
        if ifNoneMatch { headers.append(("if-none-match", "*")) }
        if let ifMatch { headers.append(("if-match", ifMatch)) }
        return try send("PUT", key: key, headers: headers, body: body, checksum: true, accept: [200]).etag ?? ""
    }

    public func delete(_ key: String) throws {
        _ = try send("DELETE", key: key, accept: [200, 204, 404])
    }

    /// Copies an object of this bucket inside the store, without the bytes passing through here.
    public func copy(_ source: String, to key: String) throws {
        let reply = try send("PUT", key: key, headers: [("x-amz-copy-source", "/\(bucket)/" + S3Path.encode(source, keepSlash: true))],
                             accept: [200])
        // CopyObject can fail after its 200 status line: the error is then the body.
        if S3XML.value("Code", in: reply.text) != nil, reply.text.contains("<Error>") {
            throw failure(reply, key: key)
        }
    }

    /// Keys (with sizes) and common prefixes directly under `prefix`, cut at `delimiter`.
    public func list(prefix: String, delimiter: String? = "/") throws -> (objects: [(key: String, size: Int)], prefixes: [String]) {
        var objects: [(String, Int)] = []
        var prefixes: [String] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", prefix)]
            if let delimiter { query.append(("delimiter", delimiter)) }
            if let token { query.append(("continuation-token", token)) }
            let reply = try send("GET", key: nil, query: query, accept: [200])
            let text = reply.text
            for entry in S3XML.elements("Contents", in: text) {
                guard let key = S3XML.value("Key", in: entry), let size = S3XML.value("Size", in: entry).flatMap(Int.init) else {
                    throw ObjectStoreError(.badReply, "s3://\(bucket)/\(prefix): the store's listing has an entry without Key or Size")
                }
                objects.append((key, size))
            }
            for common in S3XML.elements("CommonPrefixes", in: text) {
                if let value = S3XML.value("Prefix", in: common) { prefixes.append(value) }
            }
            token = S3XML.value("IsTruncated", in: text) == "true" ? S3XML.value("NextContinuationToken", in: text) : nil
        } while token != nil
        return (objects, prefixes)
    }

    /// Whether the bucket is there and these credentials may list it: the clear error otherwise.
    public func checkBucket() throws {
        _ = try send("GET", key: nil, query: [("list-type", "2"), ("max-keys", "1")], accept: [200])
    }

    // MARK: Multipart uploads

    public func createMultipartUpload(_ key: String) throws -> String {
        let reply = try send("POST", key: key, query: [("uploads", "")],
                             headers: [("content-type", "application/octet-stream"), ("x-amz-checksum-algorithm", "SHA256")], accept: [200])
        guard let id = S3XML.value("UploadId", in: reply.text), !id.isEmpty else {
            throw ObjectStoreError(.badReply, "\(url(key)): the store's answer to starting a multipart upload has no UploadId")
        }
        return id
    }

    /// Uploads part `number` (from 1); returns its ETag and its SHA-256 in base64.
    public func uploadPart(_ key: String, uploadID: String, number: Int, _ body: [UInt8]) throws -> (etag: String, checksum: String) {
        let digest = SigV4Signer.payloadDigest(body)
        let reply = try send("PUT", key: key, query: [("partNumber", "\(number)"), ("uploadId", uploadID)], body: body,
                             checksum: true, digest: digest, accept: [200])
        guard let etag = reply.etag else {
            throw ObjectStoreError(.badReply, "\(url(key)): the store's answer to part \(number) has no ETag")
        }
        return (etag, digest.base64)
    }

    public func completeMultipartUpload(_ key: String, uploadID: String, parts: [(etag: String, checksum: String)]) throws {
        var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for (index, part) in parts.enumerated() {
            xml += "<Part><PartNumber>\(index + 1)</PartNumber><ETag>\(S3XML.escape(part.etag))</ETag>"
                + "<ChecksumSHA256>\(part.checksum)</ChecksumSHA256></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        let reply = try send("POST", key: key, query: [("uploadId", uploadID)], headers: [("content-type", "application/xml")],
                             body: Array(xml.utf8), accept: [200])
        // Like CopyObject, completion can fail after a 200 status line.
        if reply.text.contains("<Error>") { throw failure(reply, key: key) }
    }

    public func abortMultipartUpload(_ key: String, uploadID: String) {
        _ = try? send("DELETE", key: key, query: [("uploadId", uploadID)], accept: [200, 204, 404])
    }

    // MARK: Requests

    /// Sends one signed request, retrying what is worth retrying; a status outside `accept` throws the
    /// store's error, named for the operator.
    func send(_ method: String, key: String?, query: [(String, String)] = [], headers: [(String, String)] = [],
              body: [UInt8] = [], checksum: Bool = false, digest given: (hex: String, base64: String)? = nil,
              accept: Set<Int>) throws -> Reply {
        let digest = given ?? SigV4Signer.payloadDigest(body)
        var attempt = 0
        while true {
            attempt += 1
            do {
                let reply = try perform(method, key: key, query: query, headers: headers, body: body, checksum: checksum, digest: digest)
                if accept.contains(reply.status) { return reply }
                if !Self.isRetryable(reply) || attempt >= maxAttempts { throw failure(reply, key: key ?? "") }
            } catch let error as ObjectStoreError {
                throw error
            } catch {
                let failure = ObjectStoreError(.unavailable, "\(key.map(url) ?? "s3://\(bucket)"): \(method) to \(settings.endpoint) failed "
                    + "(\(error)) after \(attempt) attempts; check that the store is reachable (--s3-endpoint, AWS_ENDPOINT_URL)", cause: error)
                if attempt >= maxAttempts { throw failure }
            }
            let delay = min(5, 0.2 * Double(1 << min(attempt - 1, 10))) * Double.random(in: 0.5...1)
            usleep(UInt32(delay * 1_000_000))
        }
    }

    private func perform(_ method: String, key: String?, query: [(String, String)], headers: [(String, String)], body: [UInt8],
                         checksum: Bool, digest: (hex: String, base64: String)) throws -> Reply {
        let encodedKey = key.map { S3Path.encode($0, keepSlash: true) }
        let host: String
        let path: String
        let scheme = settings.endpoint.hasPrefix("https://") ? "https://" : "http://"
        let endpointHost = String(settings.endpoint.dropFirst(scheme.count))
        if settings.pathStyle {
            host = endpointHost
            path = "/\(bucket)" + (encodedKey.map { "/" + $0 } ?? "/")
        } else {
            host = "\(bucket).\(endpointHost)"
            path = "/" + (encodedKey ?? "")
        }
        var all = headers
        all.append(("host", host))
        if checksum { all.append(("x-amz-checksum-sha256", digest.base64)) }
        let signed = SigV4Signer(credentials: settings.credentials, region: settings.region)
            .sign(method: method, path: path, query: query, headers: all, payloadSHA256: digest.hex,
                  date: AmzDate(secondsSinceEpoch: Int64(Date().timeIntervalSince1970)))
        let queryText = query.map { S3Path.encode($0.0, keepSlash: false) + ($0.1.isEmpty && $0.0 == "uploads" ? "" : "=" + S3Path.encode($0.1, keepSlash: false)) }
            .joined(separator: "&")
        var request = HTTPTransport.Request(method: HTTPMethod(rawValue: method), url: scheme + host + path + (queryText.isEmpty ? "" : "?" + queryText))
        request.headers.add(name: "Host", value: host)
        for (name, value) in all + signed where name != "host" { request.headers.add(name: name, value: value) }
        if !body.isEmpty || method == "PUT" || method == "POST" { request.body = ByteBuffer(bytes: body) }
        let response = try Self.http.executeCollected(request, deadline: .now() + .seconds(requestTimeoutSeconds), maxBodyBytes: Self.maxReplyBytes).wait()
        return Reply(status: Int(response.status.code), headers: response.headers, body: Array(response.body.readableBytesView))
    }

    static func isRetryable(_ reply: Reply) -> Bool {
        if [429, 500, 502, 503, 504].contains(reply.status) { return true }
        let code = S3XML.value("Code", in: reply.text)
        return code == "SlowDown" || code == "InternalError" || code == "RequestTimeout"
    }

    /// The store's error as an operator reads it: the code and message it sent, and the fix.
    func failure(_ reply: Reply, key: String) -> ObjectStoreError {
        let code = S3XML.value("Code", in: reply.text) ?? ""
        let said = S3XML.value("Message", in: reply.text).map { ": \($0)" } ?? ""
        let what = key.isEmpty ? "s3://\(bucket)" : url(key)
        switch (reply.status, code) {
        case (_, "NoSuchBucket"):
            return ObjectStoreError(.noSuchBucket, "bucket \(bucket) does not exist at \(settings.endpoint); create it "
                + "(aws s3 mb s3://\(bucket)) or correct the bucket name or --s3-endpoint")
        case (_, "InvalidAccessKeyId"), (_, "SignatureDoesNotMatch"):
            return ObjectStoreError(.accessDenied, "\(what): the store refused \(settings.credentials) (\(code)\(said)); check "
                + "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the profile's keys)")
        case (_, "AuthorizationHeaderMalformed"), (301, _), (_, "PermanentRedirect"), (_, "IllegalLocationConstraintException"):
            let region = (reply.headers.first(name: "x-amz-bucket-region") ?? S3XML.value("Region", in: reply.text))
                .map { " (the bucket is in \($0))" } ?? ""
            return ObjectStoreError(.configuration, "\(what): wrong region \(settings.region)\(region); set AWS_REGION to the bucket's region")
        case (403, _):
            return ObjectStoreError(.accessDenied, "\(what): access denied to \(settings.credentials)\(said); grant it read, write, "
                + "list and delete on the bucket, or use other credentials")
        case (404, _):
            return ObjectStoreError(.notFound, "\(what) does not exist\(said)")
        case (412, _):
            return ObjectStoreError(.preconditionFailed, "\(what): the store's precondition failed (another writer changed it)")
        default:
            return ObjectStoreError(Self.isRetryable(reply) ? .unavailable : .badReply,
                                    "\(what): the store answered HTTP \(reply.status)\(code.isEmpty ? "" : " \(code)")\(said)")
        }
    }
}
