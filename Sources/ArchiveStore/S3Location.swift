import ArchiveFormat
import FoundationEssentials
public import ObjectStorage

/// An archive location under a prefix of an S3 bucket: `s3://BUCKET/PREFIX`, each archive file one
/// object `PREFIX/NAME`.
///
/// How it keeps the location's duties:
/// - **Atomic files.** A single PUT replaces an object whole; a `LocationWriter` streams a file in
///   8 MiB multipart parts and the object appears only when the upload is completed (aborted on
///   `abandon`). Every upload carries `x-amz-checksum-sha256`, so the store checks the bytes it kept.
/// - **Folders** are prefixes: `makeFolder` has nothing to create, and there are no links.
/// - **The writers' lock** is the object `PREFIX/.promferry.lock`, created with `If-None-Match: *`
///   and renewed every `heartbeatSeconds` with `If-Match` on its ETag. A lock not renewed for
///   `leaseSeconds` (its holder was killed) is taken over with `If-Match`, after waiting one lease
///   to see that it is not renewed. A writer whose renewal fails has lost the lock: every later
///   write through this location fails, so it can commit no manifest. On a store without
///   conditional writes two writers starting within one request's time could both take the lock;
///   each renewal then reads the lock back and the writer that finds another owner stops.
/// - **Reads** are range GETs of 8 MiB with `If-Match` on the ETag first seen, so an object replaced
///   under a reader fails the read instead of mixing two versions.
///
/// Credentials, region and endpoint are resolved (`S3Settings`) and the bucket checked at the
/// first call, so that a wrong key or a missing bucket fails that call with its own message.
public final class S3Location: ArchiveLocation {
    public let root: String
    public let bucket: String
    /// Without leading or trailing `/`; empty for the bucket's top.
    public let prefix: String
    private var resolved: S3Client?
    /// Settings given by the caller instead of the process' AWS environment.
    private let givenSettings: S3Settings?
    private var lock: LeaseLock?

    static let partBytes = 8 << 20
    /// How long a lock stays another's without renewal before it is taken over: 15 s, or
    /// `PROMFERRY_S3_LOCK_LEASE` seconds (3–3600; longer for a store that is slow to answer).
    /// A writer renews every third of it.
    public static let leaseSeconds: Double = {
        guard let text = ProcessInfo.processInfo.environment["PROMFERRY_S3_LOCK_LEASE"], let value = Double(text),
              (3...3600).contains(value) else { return 15 }
        return value
    }()
    public static var heartbeatSeconds: Double { leaseSeconds / 3 }

    /// Whether `text` names a bucket location (`s3://…`).
    public static func isS3(_ text: String) -> Bool { text.lowercased().hasPrefix("s3://") }

    /// The bucket and prefix of `s3://BUCKET[/PREFIX]`, or the error that names what is wrong.
    public static func parse(_ text: String) throws -> (bucket: String, prefix: String) {
        let rest = text.dropFirst(5)
        let bucket = String(rest.prefix { $0 != "/" })
        var prefix = Substring(rest.dropFirst(bucket.count))
        while prefix.first == "/" { prefix.removeFirst() }
        while prefix.last == "/" { prefix.removeLast() }
        let allowed = bucket.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2e || $0 == 0x2d }
        guard (3...63).contains(bucket.count), allowed, bucket.first != "-", bucket.first != "." else {
            throw ArchiveStoreError(.notAnArchive, "\(text): \"\(bucket)\" is not a bucket name (3–63 lower-case letters, digits, dots "
                + "and hyphens); write the archive as s3://BUCKET/PREFIX")
        }
        guard !prefix.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
            throw ArchiveStoreError(.notAnArchive, "\(text): the prefix has an empty, \".\" or \"..\" part; write it as s3://BUCKET/a/b")
        }
        return (bucket, String(prefix))
    }

    /// A location for `url`, reached with `settings` (default: resolved from the AWS environment);
    /// nothing is checked until the first call, which then fails with the reason.
    public init(url: String, settings: S3Settings? = nil) {
        givenSettings = settings
        let parsed = try? Self.parse(url)
        bucket = parsed?.bucket ?? ""
        prefix = parsed?.prefix ?? ""
        root = parsed.map { "s3://\($0.bucket)" + ($0.prefix.isEmpty ? "" : "/" + $0.prefix) } ?? url
    }

    deinit { unlock() }

    /// The client, resolving the settings and checking the bucket on first use.
    func client() throws -> S3Client {
        if let resolved { return resolved }
        _ = try Self.parse(root)
        let client = try Self.mapped { S3Client(settings: try givenSettings ?? S3Settings.resolve(), bucket: bucket) }
        try Self.mapped { try client.checkBucket() }
        resolved = client
        return client
    }

    func key(_ name: String) -> String { prefix.isEmpty ? name : name.isEmpty ? prefix : prefix + "/" + name }

    /// Runs `body`, turning the object store's errors into the archive store's.
    static func mapped<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ObjectStoreError {
            let code: ArchiveStoreError.Code = switch error.code {
            case .notFound, .noSuchBucket: .missing
            case .preconditionFailed: .locked
            default: .io
            }
            throw ArchiveStoreError(code, error.message, cause: error)
        }
    }

    public func exists() throws -> Bool {
        _ = try client()
        return true
    }

    /// Buckets are never created here: a missing one fails in `client()`, naming the command that makes it.
    public func create() throws -> Bool {
        _ = try client()
        return false
    }

    public func removeIfEmpty() {}

    public func entry(_ name: String) throws -> LocationEntry? {
        let client = try client()
        if let found = try Self.mapped({ try client.head(key(name)) }) { return .file(bytes: found.size) }
        let under = try Self.mapped { try client.list(prefix: key(name) + "/", delimiter: "/") }
        return under.objects.isEmpty && under.prefixes.isEmpty ? nil : .folder
    }

    public func list(_ folder: String) throws -> [String] {
        let client = try client()
        let base = key(folder).isEmpty ? "" : key(folder) + "/"
        let found = try Self.mapped { try client.list(prefix: base, delimiter: "/") }
        let names = found.objects.map { String($0.key.dropFirst(base.count)) }
            + found.prefixes.map { String($0.dropFirst(base.count).dropLast()) }
        return names.filter { !$0.isEmpty }.sorted()
    }

    public func makeFolder(_ name: String) throws {}

    public func removeFolderIfEmpty(_ name: String) {}

    public func open(_ name: String) throws -> any LocationReader {
        let client = try client()
        guard let found = try Self.mapped({ try client.head(key(name)) }) else {
            throw ArchiveStoreError(.missing, "\(path(of: name)) is missing")
        }
        return S3Reader(client: client, key: key(name), size: found.size, etag: found.etag)
    }

    public func writeAtomically(_ bytes: [UInt8], to name: String) throws {
        try checkLockKept()
        let client = try client()
        try Self.mapped { try client.put(key(name), bytes) }
    }

    public func create(_ name: String) throws -> any LocationWriter {
        try checkLockKept()
        return S3Writer(client: try client(), key: key(name))
    }

    public func remove(_ name: String) throws {
        try checkLockKept()
        let client = try client()
        try Self.mapped { try client.delete(key(name)) }
    }

    /// A copy inside the store when both are prefixes of one bucket at one endpoint, else streamed.
    public func place(_ name: String, from source: any ArchiveLocation, as newName: String) throws {
        try checkLockKept()
        let client = try client()
        if let other = source as? S3Location, other.bucket == bucket, try other.client().settings.endpoint == client.settings.endpoint {
            try Self.mapped { try client.copy(other.key(name), to: key(newName)) }
            return
        }
        try copy(name, from: source, as: newName, chunkBytes: Self.partBytes)
    }

    // MARK: The writers' lock

    public func lockForWriting() throws {
        let lock = LeaseLock(client: try client(), key: key(ArchiveNaming.lockFile), url: path(of: ArchiveNaming.lockFile))
        try Self.mapped { try lock.acquire() }
        self.lock = lock
    }

    public func unlock() {
        lock?.release()
        lock = nil
    }

    public var holdsLock: Bool { lock.map { !$0.lost } ?? false }

    public var canHoldLinks: Bool { false }

    public func writerHoldsLock() -> Bool? {
        guard let client = try? client() else { return nil }
        // A dead holder's lock stays until it is taken over.
        return try? client.head(key(ArchiveNaming.lockFile)) != nil
    }

    private func checkLockKept() throws {
        if let lock, lock.lost {
            throw ArchiveStoreError(.locked, "\(root): this process lost the writers' lock (\(lock.lossReason)); another promferry "
                + "took the archive over, so this one stops without writing more")
        }
    }
}

/// Reads an object in 8 MiB range requests, all of the version first seen.
///
/// An object replaced before its first byte was read (a manifest rewritten by the export a follower
/// reads) is simply read in its new version; replaced later, the read fails.
final class S3Reader: LocationReader {
    let client: S3Client
    let key: String
    private(set) var size: Int
    private(set) var etag: String
    private var offset = 0
    private var buffer: [UInt8] = []
    private var position = 0

    init(client: S3Client, key: String, size: Int, etag: String) {
        (self.client, self.key, self.size, self.etag) = (client, key, size, etag)
    }

    func read(_ count: Int) throws -> [UInt8] {
        if position == buffer.count {
            guard offset < size else { return [] }
            var length = min(max(count, S3Location.partBytes), size - offset)
            var replaced = 0
            while true {
                do {
                    buffer = try S3Location.mapped { try client.get(key, offset: offset, length: length, ifMatch: etag.isEmpty ? nil : etag) }
                    break
                } catch let error as ArchiveStoreError where error.code == .locked && offset == 0 && replaced < 5 {
                    // `.locked` is how a failed If-Match arrives here: the object was replaced since it was opened.
                    replaced += 1
                    guard let current = try S3Location.mapped({ try client.head(key) }) else { throw error }
                    (size, etag) = current
                    guard size > 0 else { return [] }
                    length = min(max(count, S3Location.partBytes), size)
                }
            }
            guard buffer.count == length else {
                throw ArchiveStoreError(.io, "\(client.url(key)): asked for \(length) bytes at \(offset), the store sent \(buffer.count); "
                    + "the object changed or the store is faulty (run the command again)")
            }
            offset += length
            position = 0
        }
        let end = min(buffer.count, position + count)
        defer { position = end }
        return Array(buffer[position..<end])
    }
}

/// Streams a new object: one PUT when it fits in a part, else a multipart upload completed by `commit`.
final class S3Writer: LocationWriter {
    let client: S3Client
    let key: String
    private var pending: [UInt8] = []
    private var uploadID: String?
    private var parts: [(etag: String, checksum: String)] = []
    private var finished = false

    init(client: S3Client, key: String) {
        self.client = client
        self.key = key
    }

    deinit { abandon() }

    func write(_ bytes: [UInt8]) throws {
        pending += bytes
        while pending.count >= S3Location.partBytes {
            let part = Array(pending.prefix(S3Location.partBytes))
            pending.removeFirst(S3Location.partBytes)
            try upload(part)
        }
    }

    private func upload(_ part: [UInt8]) throws {
        try S3Location.mapped {
            if uploadID == nil { uploadID = try client.createMultipartUpload(key) }
            parts.append(try client.uploadPart(key, uploadID: uploadID!, number: parts.count + 1, part))
        }
    }

    func commit() throws {
        if uploadID == nil {
            try S3Location.mapped { try client.put(key, pending) }
        } else {
            if !pending.isEmpty { try upload(pending) }
            try S3Location.mapped { try client.completeMultipartUpload(key, uploadID: uploadID!, parts: parts) }
        }
        pending = []
        finished = true
    }

    func abandon() {
        guard !finished else { return }
        finished = true
        pending = []
        if let uploadID { client.abortMultipartUpload(key, uploadID: uploadID) }
    }
}
