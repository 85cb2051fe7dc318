/// What is at a name of an archive location. Links are never followed: no tool reads or writes
/// through a `.link` or an `.other` (FIFO, device, socket).
public enum LocationEntry: Equatable, Sendable {
    case file(bytes: Int)
    case folder
    case link
    case other
}

/// Reads one file of a location front to back.
public protocol LocationReader: AnyObject {
    /// Up to `count` bytes; fewer only at the end of the file.
    func read(_ count: Int) throws -> [UInt8]
}

/// Writes one new file of a location. Until `commit()` the file is not there under its name (a
/// reader or `list` sees the old state); after it, the whole file is there and durable.
public protocol LocationWriter: AnyObject {
    func write(_ bytes: [UInt8]) throws
    func commit() throws
    /// Gives the file up: nothing of it stays under its name.
    func abandon()
}

/// Where an archive's files are kept, by relative name (`manifest.json`, `SHA256SUMS`,
/// `segments/000001-0000.pfs`): a directory (`LocalDirectory`) or a prefix of an S3 bucket
/// (`S3Location`). `ArchiveDirectory` holds the archive's rules (what a manifest must say,
/// the commit order, orphans, checksums) once, written against this.
///
/// A location's duties:
/// - `writeAtomically` and a committed `LocationWriter` leave either the old state or the whole new
///   file, durable, whenever the process dies;
/// - nothing is followed through a link; `.other` entries are reported, never read;
/// - `lockForWriting` excludes every other writer of the location until `unlock` (or the process ends).
public protocol ArchiveLocation: AnyObject {
    /// The location in messages: a directory path (an object-store URL for a bucket).
    var root: String { get }
    /// Whether the location itself exists and can hold an archive (a directory; not a file).
    func exists() throws -> Bool
    /// Creates the location when missing; true when this call created it (racing creators: one wins).
    func create() throws -> Bool
    /// Removes the location itself when it is empty (what `create()` made, given up).
    func removeIfEmpty()
    func entry(_ name: String) throws -> LocationEntry?
    /// Names directly inside `folder` ("" for the top), in no particular order.
    func list(_ folder: String) throws -> [String]
    func makeFolder(_ name: String) throws
    func removeFolderIfEmpty(_ name: String)
    func open(_ name: String) throws -> any LocationReader
    func writeAtomically(_ bytes: [UInt8], to name: String) throws
    func create(_ name: String) throws -> any LocationWriter
    func remove(_ name: String) throws
    /// Puts the file `name` of `source` here as `newName`, byte for byte (a hard link where it can).
    func place(_ name: String, from source: any ArchiveLocation, as newName: String) throws
    /// Takes the writers' lock; throws `.locked` when another writer holds it.
    func lockForWriting() throws
    /// Gives the lock up (removing what `lockForWriting` created for it); nothing when not held.
    func unlock()
    var holdsLock: Bool { get }
    /// Whether another process holds the writers' lock, without taking it; nil where that cannot be told.
    func writerHoldsLock() -> Bool?
    /// Whether names here can be symbolic links (a directory's can; a bucket's objects never are), so
    /// that readers check for them only where there can be some.
    var canHoldLinks: Bool { get }
}

/// The location an archive argument names: `s3://BUCKET/PREFIX` a bucket, anything else a directory.
public enum ArchiveLocations {
    public static func location(for root: String) -> any ArchiveLocation {
        S3Location.isS3(root) ? S3Location(url: root) : LocalDirectory(root: root)
    }
}

extension ArchiveLocation {
    /// The name's full form for messages.
    public func path(of name: String) -> String { name.isEmpty ? root : root + "/" + name }

    /// Puts the file `name` of `source` here as `newName` by reading and writing it in `chunkBytes`
    /// pieces: how `place` copies when it has no cheaper way (a link, a copy inside one store).
    public func copy(_ name: String, from source: any ArchiveLocation, as newName: String, chunkBytes: Int) throws {
        let reader = try source.open(name)
        let writer = try create(newName)
        do {
            while true {
                let chunk = try reader.read(chunkBytes)
                if chunk.isEmpty { break }
                try writer.write(chunk)
            }
            try writer.commit()
        } catch {
            writer.abandon()
            throw error
        }
    }

    /// A whole small file, refused once it passes `limit` bytes (callers that can tell the size
    /// beforehand refuse it with their own words first).
    public func readWhole(_ name: String, limit: Int) throws -> [UInt8] {
        let reader = try open(name)
        var all: [UInt8] = []
        while true {
            let chunk = try reader.read(1 << 20)
            if chunk.isEmpty { return all }
            all += chunk
            guard all.count <= limit else {
                throw ArchiveStoreError(.corrupt, "\(path(of: name)) is over the limit of \(limit) bytes")
            }
        }
    }
}
