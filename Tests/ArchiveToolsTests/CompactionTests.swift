import ArchiveFormat
import ArchiveStore
import ArchiveTools
import Foundation
import PeerHarness
import PrometheusWire
import Testing
import TestSupport

/// `prom-archive compact`: slabs joined, every sample, histogram and start timestamp kept bit for bit.
@Suite struct CompactionTests {
    static let slabMs: Int64 = 30 * 60_000

    /// The 24 float series, the mixed floats and native histograms, a series that only begins in the
    /// third slab, and one whose start timestamps are known in some slabs only.
    static let series: [Series] = {
        var all = dataset + MixedArchive.series(startMs: t0)
        let lateStart: Int64 = t0 + 2 * slabMs + 7
        let late: [Sample] = stride(from: lateStart, to: t0 + 4 * hour, by: 15_000).map { (t: Int64) -> Sample in
            Sample(timestampMs: t, value: Double(t % 1000) / 8)
        }
        all.append(Series(labels: Labels(sorting: [Label("__name__", "late_pod_up"), Label("pod", "p-2")]), samples: late))
        let times: [Int64] = Array(stride(from: t0, to: t0 + 4 * hour, by: 60_000))
        let starts: [Int64] = times.map { (t: Int64) -> Int64 in (t - t0) / slabMs % 2 == 0 ? t0 - 1000 : 0 }
        all.append(Series(labels: Labels(sorting: [Label("__name__", "with_starts_total")]),
                          samples: times.enumerated().map { Sample(timestampMs: $1, value: Double($0)) },
                          sampleStartTimestampsMs: starts))
        return all
    }()

    static func withArchive(_ body: (String, TemporaryDirectory) throws -> Void) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/archive"
        try TestArchive.write(series, at: path, startMs: t0, slabMs: slabMs, slabs: 8)
        try body(path, dir)
    }

    /// Every series with all its floats, start timestamps and histograms, across all slabs.
    static func contents(_ path: String) throws -> [Labels: Series] {
        let archive = ArchiveDirectory(root: path)
        var all: [Labels: Series] = [:]
        for segment in try archive.readManifest().segments {
            try archive.readSegment(segment) { piece in
                var s = all[piece.labels] ?? Series(labels: piece.labels, samples: [])
                let had = s.samples.count
                s.samples += piece.samples
                s.histograms += piece.histograms
                if !piece.sampleStartTimestampsMs.isEmpty || !s.sampleStartTimestampsMs.isEmpty {
                    if s.sampleStartTimestampsMs.isEmpty { s.sampleStartTimestampsMs = Array(repeating: 0, count: had) }
                    s.sampleStartTimestampsMs += piece.sampleStartTimestampsMs.isEmpty
                        ? Array(repeating: 0, count: piece.samples.count) : piece.sampleStartTimestampsMs
                }
                all[piece.labels] = s
            }
        }
        return all
    }

    static func options(maxSlabMs: Int64 = 24 * hour, memoryBytes: Int = 256 << 20) -> ArchiveCompaction.Options {
        .init(maxSlabMs: maxSlabMs, memoryBytes: memoryBytes, compressionLevel: 3, createdAt: "2025-05-05T00:00:00Z")
    }

    @Test func joinedSlabsHoldEverySampleBitForBit() throws {
        try Self.withArchive { path, _ in
            let before = try ArchiveDirectory(root: path).readManifest()
            let original = try Self.contents(path)
            #expect(original.values.contains { !$0.histograms.isEmpty } && original.values.contains { !$0.sampleStartTimestampsMs.isEmpty })
            var notes: [String] = []
            let result = try ArchiveCompaction.compact(path, options: Self.options()) { notes.append($0) }
            #expect(result.slabsBefore == 8 && result.slabsAfter == 1 && result.slabsRewritten == 8)
            #expect(result.samples == before.totalSamples)
            #expect(result.bytesAfter < result.bytesBefore, "\(result)")
            #expect(notes.count == 1 && notes[0].hasPrefix("slabs 0–7 (8 slabs"), "\(notes)")

            let after = try ArchiveDirectory(root: path).readManifest()
            #expect(after.slabs.count == 1 && after.slabs[0].startMs == t0 && after.slabs[0].endMs == t0 + 4 * hour)
            #expect(after.slabs[0].series == original.count && after.totalSamples == before.totalSamples)
            #expect(after.createdAt == "2025-05-05T00:00:00Z" && after.compactedFrom == before.createdAt)
            #expect(after.segments.allSatisfy { $0.file.hasSuffix("-c1.pfs") })
            #expect(after.complete && after.selection == before.selection)
            #expect(try Self.contents(path) == original)
            // The old segments are gone, the checksums agree, and nothing is left over.
            let report = ArchiveVerifier.verify(path)
            #expect(report.sound && report.warnings.isEmpty, "\(report.errors) \(report.warnings)")
            _ = try Command.run("/bin/sh", ["-c", "cd '\(path)' && sha256sum --quiet -c SHA256SUMS"])
            #expect(try FileManager.default.contentsOfDirectory(atPath: path + "/segments").sorted() == after.segments.map { String($0.file.dropFirst(9)) }.sorted())

            // A second run finds nothing to join and changes nothing.
            let again = try ArchiveCompaction.compact(path, options: Self.options())
            #expect(again.slabsRewritten == 0 && again.slabsAfter == 1)
            #expect(try ArchiveDirectory(root: path).readManifest() == after)
        }
    }

    @Test func runsStayWithinMaxSlabAndMemory() throws {
        try Self.withArchive { path, _ in
            let original = try Self.contents(path)
            // 1 h: pairs of 30-minute slabs.
            let paired = try ArchiveCompaction.compact(path, options: Self.options(maxSlabMs: hour))
            #expect(paired.slabsAfter == 4)
            let manifest = try ArchiveDirectory(root: path).readManifest()
            #expect(manifest.slabs.map { $0.endMs - $0.startMs } == [hour, hour, hour, hour])
            #expect(manifest.slabs.map(\.index) == [0, 1, 2, 3])
            #expect(try Self.contents(path) == original)
            // Then with room for one slab at a time only: nothing is joined.
            let tight = try ArchiveCompaction.compact(path, options: Self.options(memoryBytes: 1 << 10))
            #expect(tight.slabsRewritten == 0 && tight.slabsAfter == 4)
            // And a second generation of names when joined again.
            _ = try ArchiveCompaction.compact(path, options: Self.options())
            let joined = try ArchiveDirectory(root: path).readManifest()
            #expect(joined.slabs.count == 1 && joined.segments.allSatisfy { $0.file.hasSuffix("-c2.pfs") })
            #expect(joined.compactedFrom == "2024-01-01T00:00:00Z")
            #expect(try Self.contents(path) == original)
            #expect(ArchiveVerifier.verify(path).warnings.isEmpty)
        }
    }

    /// A damaged input stops the run before anything is committed; the new files it wrote are removed.
    @Test func aCorruptSegmentLeavesTheArchiveAsItWas() throws {
        try Self.withArchive { path, _ in
            let archive = ArchiveDirectory(root: path)
            let manifest = try archive.readManifest()
            let victim = archive.path(of: manifest.slabs[6].segments[1].file)
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: victim)))
            bytes[bytes.count / 2] ^= 0x40
            try Data(bytes).write(to: URL(fileURLWithPath: victim))
            let files = try FileManager.default.contentsOfDirectory(atPath: path + "/segments").sorted()
            #expect {
                try ArchiveCompaction.compact(path, options: Self.options())
            } throws: { error in
                "\(error)".contains(manifest.slabs[6].segments[1].file)
            }
            #expect(try archive.readManifest() == manifest)
            #expect(try FileManager.default.contentsOfDirectory(atPath: path + "/segments").sorted() == files)
        }
    }

    @Test func whatAnInterruptedRunLeftIsRemoved() throws {
        try Self.withArchive { path, _ in
            let original = try Self.contents(path)
            // A run killed before its manifest: new segments (one complete, one temporary) that nothing lists.
            for name in ["000000-0000-c1.pfs", "000000-0001-c1.pfs.tmp"] {
                try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path + "/segments/" + name))
            }
            _ = try ArchiveCompaction.compact(path, options: Self.options())
            #expect(try Self.contents(path) == original)
            let report = ArchiveVerifier.verify(path)
            #expect(report.sound && report.warnings.isEmpty, "\(report.errors) \(report.warnings)")
        }
    }

    @Test func refusesWhatItMustNotTouch() throws {
        try Self.withArchive { path, dir in
            let archive = ArchiveDirectory(root: path)
            // An import journal inside the archive would no longer match.
            try Data("{}\n".utf8).write(to: URL(fileURLWithPath: path + "/prom-import.state"))
            #expect { try ArchiveCompaction.compact(path, options: Self.options()) } throws: { "\($0)".contains("prom-import.state") }
            try FileManager.default.removeItem(atPath: path + "/prom-import.state")
            // An export that has not finished.
            var manifest = try archive.readManifest()
            manifest.complete = false
            try archive.commit(manifest)
            #expect { try ArchiveCompaction.compact(path, options: Self.options()) } throws: { "\($0)".contains("is not complete") }
            manifest.complete = true
            try archive.commit(manifest)
            // Another writer holds the archive.
            let writer = ArchiveDirectory(root: path)
            try writer.prepareForWriting()
            #expect { try ArchiveCompaction.compact(path, options: Self.options()) } throws: { "\($0)".contains("in use by another promferry process") }
            withExtendedLifetime(writer) {}
            // Not an archive at all.
            #expect { try ArchiveCompaction.compact(dir.path, options: Self.options()) } throws: { "\($0)".contains("holds no manifest.json") }
        }
    }
}
