import ArchiveStore
import Foundation
import Testing

@Suite struct ArchiveDirectoryTests {
    func directory(_ files: [String: String]) throws -> String {
        let root = NSTemporaryDirectory() + "/promferry-dir-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root + "/segments", withIntermediateDirectories: true)
        for (name, text) in files {
            FileManager.default.createFile(atPath: root + "/" + name, contents: Data(text.utf8))
        }
        return root
    }

    /// What an exporter killed before its first manifest leaves behind is taken over by the next run.
    @Test func takesOverTheLeftoversOfAWriterKilledBeforeItsFirstManifest() throws {
        let root = try directory([".promferry.lock": "", "manifest.json.tmp": "{", "segments/000000-0000.pfs.tmp": "x",
                                  "segments/000001-0000.pfs": "y"])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let archive = ArchiveDirectory(root: root)
        try archive.prepareForWriting()
        #expect(try archive.removeOrphans(keeping: nil).count == 2)
    }

    /// Anything else in the directory means it is not an unfinished archive: refused, left untouched.
    @Test(arguments: [["notes.txt": "mine"], ["segments/photo.jpg": "mine"], ["segments/000000-0000.pfs": "", "data": "mine"]])
    func refusesADirectoryHoldingAnythingElse(_ files: [String: String]) throws {
        let root = try directory(files)
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(throws: ArchiveStoreError.self) { try ArchiveDirectory(root: root).prepareForWriting() }
        for name in files.keys { #expect(FileManager.default.fileExists(atPath: root + "/" + name)) }
    }

    /// A manifest over the size limit was read cut at 64 MiB and reported as "invalid JSON".
    @Test func aManifestOverTheLimitIsNamedWithItsSize() throws {
        let root = try directory(["manifest.json": ""])
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(truncate(root + "/manifest.json", off_t(ArchiveDirectory.maxManifestBytes + 1)) == 0)
        let error = #expect(throws: ArchiveStoreError.self) { try ArchiveDirectory(root: root).readManifest() }
        #expect(error?.message.contains("is 67108865 bytes, over the 64 MiB limit for a manifest") == true, "\(String(describing: error))")
    }

    /// Foundation's decoder calls a number it cannot hold "not valid JSON", without a key; the number is
    /// named by its key and as it is written.
    @Test(arguments: ["99999999999999999999", "1e30", "2.5", "9223372036854775808", "-9223372036854775809"])
    func aNumberBeyondTheIntegerRangeIsNamedByItsKey(_ written: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(ManifestTests.manifest()), as: UTF8.self)
        #expect(json.contains(#""samples":1,"segments""#))
        let root = try directory(["manifest.json": json.replacingOccurrences(of: #""samples":1,"segments""#,
                                                                             with: #""samples":\#(written),"segments""#)])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let error = #expect(throws: ArchiveStoreError.self) { try ArchiveDirectory(root: root).readManifest() }
        #expect(error?.message.contains("`slabs.0.samples` is \(written), which is not a whole number within the 64-bit integer range") == true,
                "\(String(describing: error))")
        // Malformed JSON is still called that.
        let broken = try directory(["manifest.json": String(json.dropLast())])
        defer { try? FileManager.default.removeItem(atPath: broken) }
        let invalid = #expect(throws: ArchiveStoreError.self) { try ArchiveDirectory(root: broken).readManifest() }
        #expect(invalid?.message.contains("invalid JSON") == true, "\(String(describing: invalid))")
    }

    /// prom-import --follow writes its journal beside the first manifest; when that export's first read
    /// failed and it removed its empty archive, the journal stayed and the next export refused the
    /// directory as "not empty". It is now taken over like the export's own leftovers.
    @Test func takesOverADirectoryHoldingOnlyAFollowingImportersJournal() throws {
        let root = try directory(["prom-import.state": "{}\n", "prom-import.rejects.jsonl": ""])
        defer { try? FileManager.default.removeItem(atPath: root) }
        try ArchiveDirectory(root: root).prepareForWriting()
        let stranger = try directory(["prom-import.state": "{}\n", "notes.txt": "mine"])
        defer { try? FileManager.default.removeItem(atPath: stranger) }
        #expect(throws: ArchiveStoreError.self) { try ArchiveDirectory(root: stranger).prepareForWriting() }
        #expect(!FileManager.default.fileExists(atPath: stranger + "/.promferry.lock"))
    }
}
