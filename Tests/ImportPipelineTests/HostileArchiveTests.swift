import ArchiveFormat
import ArchiveStore
import BlockCompression
import ArchiveTools
import Foundation
@testable import ImportPipeline
import PeerHarness
import PrometheusWire
import Testing
import TestSupport

/// Archives crafted to escape, mislead or exhaust the reader: each is refused with the reason before
/// anything is sent, and nothing outside the archive is read or written.
@Suite struct HostileArchiveTests {
    func editManifest(_ dir: String, _ edit: (String) -> String) throws {
        let path = dir + "/archive/manifest.json"
        try edit(try String(contentsOfFile: path, encoding: .utf8)).write(toFile: path, atomically: true, encoding: .utf8)
    }

    func expectRefusal(_ dir: String, _ url: String, _ server: ScriptedHTTPServer, _ fragment: String) async throws {
        let error = await #expect(throws: (any Error).self) { try await importing(dir, url) }
        #expect("\(error.map { "\($0)" } ?? "")".contains(fragment), "\(error.map { "\($0)" } ?? "")")
        #expect(server.received.isEmpty, "something was sent")
        let verify = ArchiveVerifier.verify(dir + "/archive")
        #expect(!verify.sound)
    }

    @Test(arguments: ["../outside.pfs", "segments/../../outside.pfs", "/tmp/outside.pfs", "segments/sub/x.pfs"])
    func pathsOutsideTheSegmentsFolderAreRefused(_ hostile: String) async throws {
        try await withTarget { dir, url, _, server in
            // A perfectly valid segment waits outside, where the hostile path points.
            try FileManager.default.copyItem(atPath: dir + "/archive/segments/000000-0000.pfs", toPath: dir + "/outside.pfs")
            try editManifest(dir) { $0.replacingOccurrences(of: "\"segments/000000-0000.pfs\"", with: "\"\(hostile)\"") }
            try await expectRefusal(dir, url, server, "is not of the form segments/<name>.pfs")
        }
    }

    @Test func symlinkedSegmentsAreRefused() async throws {
        try await withTarget { dir, url, _, server in
            let segment = dir + "/archive/segments/000000-0000.pfs"
            try FileManager.default.moveItem(atPath: segment, toPath: dir + "/outside.pfs")
            try FileManager.default.createSymbolicLink(atPath: segment, withDestinationPath: dir + "/outside.pfs")
            try await expectRefusal(dir, url, server, "symlinks are refused")
        }
    }

    /// A link in place of the segments folder once led every read outside the archive.
    @Test func aSymlinkedSegmentsFolderIsRefused() async throws {
        try await withTarget { dir, url, _, server in
            try FileManager.default.moveItem(atPath: dir + "/archive/segments", toPath: dir + "/elsewhere")
            try FileManager.default.createSymbolicLink(atPath: dir + "/archive/segments", withDestinationPath: dir + "/elsewhere")
            try await expectRefusal(dir, url, server, "segments is not a directory (symlinks are refused)")
            var text = ""
            #expect(throws: ArchiveStoreError.self) { _ = try ArchiveCat.run(dir + "/archive", format: .jsonl, filter: .all) { text += $0 } }
            #expect(throws: ArchiveStoreError.self) { _ = try ArchiveInspector.inspect(dir + "/archive") }
        }
    }

    @Test func duplicateSegmentNamesAreRefused() async throws {
        try await withTarget { dir, url, _, server in
            try editManifest(dir) { $0.replacingOccurrences(of: "\"segments/000001-0000.pfs\"", with: "\"segments/000000-0000.pfs\"") }
            try await expectRefusal(dir, url, server, "listed twice")
        }
    }

    @Test func aFutureManifestVersionIsRefused() async throws {
        try await withTarget { dir, url, _, server in
            try editManifest(dir) { $0.replacingOccurrences(of: "\"formatVersion\" : 1", with: "\"formatVersion\" : 2") }
            try await expectRefusal(dir, url, server, "upgrade promferry")
        }
    }

    /// A block whose zstd frame decodes to far more than its header declares: refused before any
    /// allocation beyond the declared size, even when the manifest's SHA-256 was forged to match.
    @Test func aBlockDecodingBeyondItsDeclaredSizeIsRefused() async throws {
        try await withTarget { dir, url, _, server in
            let big = try Zstd.compress(Array(repeating: 0, count: 32 << 20), level: 3)
            var bytes = SegmentLayout.fileMagic + [SegmentLayout.formatVersion] + Array(repeating: 0, count: 7)
            func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
            bytes += le32(SegmentLayout.blockMagic) + le32(UInt32(big.count)) + le32(64) + le32(1) + le32(CRC32C.checksum(big)) + big
            let path = dir + "/archive/segments/000000-0000.pfs"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let digest = ArchiveDigest.sha256(bytes)
            let manifest = try ArchiveDirectory(root: dir + "/archive").readManifest()
            try editManifest(dir) {
                $0.replacingOccurrences(of: manifest.segments[0].sha256, with: digest)
                  .replacingOccurrences(of: "\"bytes\" : \(manifest.segments[0].bytes),", with: "\"bytes\" : \(bytes.count),")
            }
            try await expectRefusal(dir, url, server, "expected 64")
        }
    }

    /// A link planted at a file the importer writes (its journal) once made it create or append to
    /// whatever the link pointed at. Every file a tool writes in an archive is opened with O_NOFOLLOW.
    @Test(arguments: ["link", "fifo"])
    func aPlantedStateFileIsRefusedAndNothingOutsideIsWritten(_ kind: String) async throws {
        try await withTarget { dir, url, _, server in
            let victim = dir + "/victim.txt"
            try Data("precious\n".utf8).write(to: URL(fileURLWithPath: victim))
            let state = dir + "/archive/prom-import.state"
            if kind == "link" {
                try FileManager.default.createSymbolicLink(atPath: state, withDestinationPath: victim)
            } else {
                #expect(mkfifo(state, 0o644) == 0)
            }
            let error = await #expect(throws: (any Error).self) { try await importing(dir, url) }
            let text = "\(error.map { "\($0)" } ?? "")"
            #expect(text.contains(kind == "link" ? "is a symbolic link" : "is not a regular file"), "\(text)")
            #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")
            #expect(server.received.isEmpty, "something was sent")
            if kind == "link" {
                let report = ArchiveVerifier.verify(dir + "/archive")
                #expect(report.warnings.contains { $0.contains("prom-import.state: a symbolic link") }, "\(report.warnings)")
            }
        }
    }
}
