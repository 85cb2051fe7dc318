import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A whole archive directory as one fuzz input: a sequence of entries, each
///
///     kind: u8   name: u8   length: u16 little-endian   content: length bytes
///
/// `kind % 4` is 0 regular file, 1 symlink (content is the index byte of the name it points to),
/// 2 directory, 3 FIFO. `name % names.count` picks from `names` (an archive's, or `blockNames` for a
/// TSDB block), the paths the tools look at, so the
/// fuzzer spends its time on files that matter instead of on spelling. A trailing partial entry is
/// ignored. Symlinks point only at names inside the directory: what the tools must do with one is
/// refuse it, and a fuzzer that found a write through one must not write outside its own directory.
public enum ArchiveImage {
    public static let names = ["manifest.json", "SHA256SUMS", "segments", "segments/000000-0000.pfs", "segments/000000-0001.pfs",
                               "segments/000001-0000.pfs", "segments/000002-0000.pfs", "prom-import.state", ".promferry.lock",
                               "manifest.json.tmp", "SHA256SUMS.tmp", "segments/000000-0000.pfs.tmp"]

    /// The files of a Prometheus TSDB block, for the `tsdb-block` target.
    public static let blockNames = ["meta.json", "index", "chunks", "chunks/000001", "chunks/000002", "tombstones", "wal",
                                    "wal/00000000", "index.tmp", "chunks/000001.tmp"]

    enum Kind: UInt8 { case file, symlink, directory, fifo }

    /// Creates the entries of `data` under `root` (an empty directory). Entries that cannot be created
    /// (a file under a name that is already a file, say) are skipped, as a hostile tarball's would be.
    public static func unpack(_ data: [UInt8], into root: String, names: [String] = names) {
        let directory = names[2]
        mkdir(root + "/" + directory, 0o755)
        var offset = 0
        while offset + 4 <= data.count {
            let kind = Kind(rawValue: data[offset] % 4)!
            let name = names[Int(data[offset + 1]) % names.count]
            let length = min(Int(data[offset + 2]) | Int(data[offset + 3]) << 8, data.count - offset - 4)
            let content = Array(data[(offset + 4)..<(offset + 4 + length)])
            offset += 4 + length
            let path = root + "/" + name
            if name == directory || kind != .directory { removeEntry(path) }
            switch kind {
            case .file:
                let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644)
                guard fd >= 0 else { continue }
                _ = content.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                Glibc.close(fd)
            case .symlink:
                let target = names[Int(content.first ?? 0) % names.count]
                let inside = directory + "/"
                _ = symlink(target.hasPrefix(inside) && name.hasPrefix(inside) ? String(target.dropFirst(inside.count)) : target, path)
            case .directory:
                mkdir(path, 0o755)
            case .fifo:
                mkfifo(path, 0o644)
            }
        }
    }

    /// The image of an existing archive's regular files: the seed a fuzzer starts from.
    public static func pack(_ root: String, names: [String] = names) throws -> [UInt8] {
        var image: [UInt8] = []
        for (index, name) in names.enumerated() where name != names[2] {
            guard let data = FileManager.default.contents(atPath: root + "/" + name) else { continue }
            guard data.count <= Int(UInt16.max) else {
                throw CocoaError(.fileReadTooLarge, userInfo: [NSFilePathErrorKey: root + "/" + name])
            }
            image += [Kind.file.rawValue, UInt8(index), UInt8(data.count & 0xFF), UInt8(data.count >> 8)] + Array(data)
        }
        return image
    }

    /// Removes a file, link, FIFO or directory tree without following links.
    static func removeEntry(_ path: String) {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        if status.st_mode & S_IFMT == S_IFDIR {
            if let children = try? FileManager.default.contentsOfDirectory(atPath: path) {
                for child in children { removeEntry(path + "/" + child) }
            }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}

extension ArchiveImage {
    /// A new empty directory for one input, under the system's temporary directory.
    static func scratchDirectory() -> String {
        var template = Array((NSTemporaryDirectory() + "/promferry-fuzz-archive-XXXXXX").utf8CString)
        return template.withUnsafeMutableBufferPointer { buffer in
            guard let made = mkdtemp(buffer.baseAddress!) else { fatalError("cannot create a scratch directory: errno \(errno)") }
            return String(cString: made)
        }
    }
}
