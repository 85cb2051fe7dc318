import ArchiveFormat
import ArchiveStore
import ArchiveTools
import Foundation
import PeerHarness
import PrometheusWire
import Testing
import TestSupport

let hour: Int64 = 3_600_000
let t0: Int64 = 1_700_000_000_000 / hour * hour

/// 24 series over 4 hours at 30 s: three metrics, special values included.
let dataset: [Series] = (0..<24).map { i in
    Series(labels: Labels(sorting: [Label("__name__", ["cpu", "mem", "disk"][i % 3]), Label("host", "h\(i / 3)"),
                                    Label("dc", i < 12 ? "east" : "west")]),
           samples: stride(from: t0 + Int64(i), to: t0 + 4 * hour, by: 30_000).enumerated().map { n, t in
               Sample(timestampMs: t, valueBits: n % 77 == 5 ? Sample.staleNaNBits : (Double(n) * 0.5).bitPattern)
           })
}

func withArchive(_ body: (String, TemporaryDirectory) throws -> Void) throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let path = dir.path + "/archive"
    try TestArchive.write(dataset, at: path, startMs: t0, slabMs: hour, slabs: 4)
    try body(path, dir)
}

@Suite struct VerifyTests {
    func expectProblem(_ path: String, naming file: String, _ fragment: String) {
        let report = ArchiveVerifier.verify(path)
        #expect(!report.sound)
        #expect(report.errors.contains { $0.contains(file) && $0.contains(fragment) }, "\(report.errors)")
    }

    /// Two segments of one slab holding the same series at the same times passed verify, and cat and
    /// import then emitted those samples twice. Every checksum and count here agrees.
    @Test func overlappingSegmentsOfOneSlabAreFound() throws {
        try withArchive { path, _ in
            let archive = ArchiveDirectory(root: path)
            var manifest = try archive.readManifest()
            let first = manifest.slabs[1].segments[0]
            let second = manifest.slabs[1].segments[1]
            try FileManager.default.removeItem(atPath: archive.path(of: second.file))
            try FileManager.default.copyItem(atPath: archive.path(of: first.file), toPath: archive.path(of: second.file))
            var copy = first
            copy.file = second.file
            manifest.slabs[1].segments[1] = copy
            manifest.slabs[1].samples = 2 * first.samples
            try archive.commit(manifest)
            expectProblem(path, naming: second.file, "the segments overlap, and import would send those samples twice")
        }
    }

    /// SHA256SUMS is read like every archive file: a link in its place is not followed, and a huge
    /// one is refused instead of read whole.
    @Test func aLinkedOrHugeChecksumFileIsNamedNotFollowed() throws {
        try withArchive { path, dir in
            let sums = path + "/SHA256SUMS"
            try FileManager.default.moveItem(atPath: sums, toPath: dir.path + "/elsewhere")
            try FileManager.default.createSymbolicLink(atPath: sums, withDestinationPath: dir.path + "/elsewhere")
            expectProblem(path, naming: "SHA256SUMS", "`sha256sum -c` cannot check this archive")
            try FileManager.default.removeItem(atPath: sums)
            let handle = try #require(FileHandle(forWritingAtPath: sums) ?? {
                FileManager.default.createFile(atPath: sums, contents: nil)
                return FileHandle(forWritingAtPath: sums)
            }())
            try handle.truncate(atOffset: UInt64(ArchiveDirectory.maxManifestBytes) + 10)
            try handle.close()
            expectProblem(path, naming: "SHA256SUMS", "is over 64 MiB")
        }
    }

    @Test func aSoundArchiveIsSound() throws {
        try withArchive { path, _ in
            let report = ArchiveVerifier.verify(path)
            #expect(report.sound, "\(report.errors)")
            #expect(report.warnings.isEmpty)
            #expect(report.segmentsChecked == 8)
            #expect(report.samplesChecked == dataset.reduce(0) { $0 + $1.samples.count })
        }
    }

    @Test func catchesAFlippedByte() throws {
        try withArchive { path, _ in
            let file = path + "/segments/000002-0001.pfs"
            var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: file)))
            bytes[100] ^= 0x04
            try Data(bytes).write(to: URL(fileURLWithPath: file))
            expectProblem(path, naming: "000002-0001.pfs", "corrupt")
        }
    }

    @Test func catchesATruncatedSegment() throws {
        try withArchive { path, _ in
            let file = path + "/segments/000001-0000.pfs"
            let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            try bytes.prefix(bytes.count - 20).write(to: URL(fileURLWithPath: file))
            expectProblem(path, naming: "000001-0000.pfs", "truncated")
        }
    }

    @Test func catchesAMissingSegment() throws {
        try withArchive { path, _ in
            try FileManager.default.removeItem(atPath: path + "/segments/000003-0000.pfs")
            expectProblem(path, naming: "000003-0000.pfs", "missing")
        }
    }

    @Test func catchesAnEditedManifest() throws {
        try withArchive { path, _ in
            let manifestPath = path + "/manifest.json"
            let text = try String(contentsOfFile: manifestPath, encoding: .utf8)
            // Claim one more sample in the first segment: the checksum list and the footer both disagree.
            let regex = try NSRegularExpression(pattern: #""samples" : (\d+)"#)
            let match = try #require(regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)))
            let number = Int(text[Range(match.range(at: 1), in: text)!])!
            let edited = text.replacingCharacters(in: Range(match.range(at: 1), in: text)!, with: String(number + 1))
            try edited.write(toFile: manifestPath, atomically: true, encoding: .utf8)
            let report = ArchiveVerifier.verify(path)
            #expect(!report.sound)
            #expect(report.errors.contains { $0.contains("manifest.json") }, "\(report.errors)")
        }
    }

    @Test func aManifestOfAFutureVersionIsRefused() throws {
        try withArchive { path, _ in
            let manifestPath = path + "/manifest.json"
            let text = try String(contentsOfFile: manifestPath, encoding: .utf8)
            try text.replacingOccurrences(of: "\"formatVersion\" : 1", with: "\"formatVersion\" : 7")
                .write(toFile: manifestPath, atomically: true, encoding: .utf8)
            expectProblem(path, naming: "manifest.json", "upgrade promferry")
            #expect { try ArchiveDirectory(root: path).readManifest() } throws: { ($0 as? ArchiveStoreError)?.code == .newerVersion }
        }
    }

    /// A segment of a newer format is not called damaged: its error says so, with its own code.
    @Test func aSegmentOfAFutureVersionIsNotCalledCorrupt() throws {
        try withArchive { path, _ in
            let archive = ArchiveDirectory(root: path)
            var manifest = try archive.readManifest()
            let file = archive.path(of: manifest.slabs[0].segments[0].file)
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
            bytes[8] = 9
            try Data(bytes).write(to: URL(fileURLWithPath: file))
            manifest.slabs[0].segments[0].sha256 = ArchiveDigest.sha256(bytes)
            try archive.commit(manifest)
            #expect { try archive.readSegment(manifest.slabs[0].segments[0]) } throws: { error in
                guard let error = error as? ArchiveStoreError else { return false }
                // The segment decoder's own error stays underneath, for diagnostics.
                return error.code == .newerVersion && "\(error)".contains("upgrade promferry")
                    && (error.cause as? ArchiveFormatError)?.code == .unsupportedVersion
            }
            expectProblem(path, naming: manifest.slabs[0].segments[0].file, "newer than this tool supports")
        }
    }

    @Test func warnsAboutAnUnknownFile() throws {
        try withArchive { path, _ in
            try Data("hello".utf8).write(to: URL(fileURLWithPath: path + "/notes.txt"))
            try Data("x".utf8).write(to: URL(fileURLWithPath: path + "/segments/stray.pfs"))
            let report = ArchiveVerifier.verify(path)
            #expect(report.sound)
            #expect(report.warnings.contains { $0.contains("notes.txt") })
            #expect(report.warnings.contains { $0.contains("stray.pfs") })
        }
    }
}

@Suite struct InspectSplitMergeTests {
    @Test func inspectionFiguresMatchTheManifestAndTheData() throws {
        try withArchive { path, _ in
            let figures = try ArchiveInspector.inspect(path, top: 5)
            let manifest = try ArchiveDirectory(root: path).readManifest()
            #expect(figures.series == dataset.count)
            #expect(figures.samples == dataset.reduce(0) { $0 + $1.samples.count })
            #expect(figures.samples == manifest.totalSamples)
            #expect(figures.bytes == manifest.totalBytes)
            #expect(figures.slabs.map(\.samples) == manifest.slabs.map(\.samples))
            #expect(figures.slabs.allSatisfy { $0.series == 24 })
            #expect(figures.topMetricsBySeries.map(\.series) == [8, 8, 8])
            #expect(figures.topMetricsBySamples.reduce(0) { $0 + $1.samples } == figures.samples)
            #expect(Dictionary(uniqueKeysWithValues: figures.labelCardinalities.map { ($0.name, $0.distinctValues) })
                    == ["host": 8, "dc": 2])
            #expect(figures.firstSampleMs == t0)
            #expect(figures.emptySlabs.isEmpty)
        }
    }

    @Test func splitThenMergeGivesBackTheSameContent() throws {
        try withArchive { path, dir in
            let original = try SeriesComparison.archiveContents(path)
            let manifest = try ArchiveDirectory(root: path).readManifest()
            let largestSlab = manifest.slabs.map { $0.segments.reduce(0) { $0 + $1.bytes } }.max()!
            let parts = try ArchiveSplitMerge.split(path, maxBytes: largestSlab + (64 << 10), into: dir.path + "/parts",
                                                    createdAt: "2024-02-02T00:00:00Z")
            #expect(parts.count == 4)
            for part in parts {
                let report = ArchiveVerifier.verify(part)
                #expect(report.sound, "\(report.errors)")
                let size = try FileManager.default.subpathsOfDirectory(atPath: part).reduce(0) { total, name in
                    total + ((try? FileManager.default.attributesOfItem(atPath: part + "/" + name)[.size] as? Int) ?? 0)
                }
                #expect(size <= largestSlab + (64 << 10))
            }
            _ = try Command.run("/bin/sh", ["-c", "cd '\(parts[1])' && sha256sum --quiet -c SHA256SUMS"])
            try ArchiveSplitMerge.merge(parts.reversed(), into: dir.path + "/merged", createdAt: "2024-02-03T00:00:00Z")
            #expect(ArchiveVerifier.verify(dir.path + "/merged").sound)
            #expect(try SeriesComparison.archiveContents(dir.path + "/merged") == original)
            let merged = try ArchiveDirectory(root: dir.path + "/merged").readManifest()
            #expect(merged.selection.startMs == manifest.selection.startMs)
            #expect(merged.selection.endMs == manifest.selection.endMs)
            #expect(merged.complete)
        }
    }

    /// What a kill leaves behind (a part or a merged archive with segments but no manifest) once made
    /// the re-run fail with "File exists". The same command now finishes the job.
    @Test func anInterruptedSplitOrMergeFinishesWhenRunAgain() throws {
        try withArchive { path, dir in
            let original = try SeriesComparison.archiveContents(path)
            let manifest = try ArchiveDirectory(root: path).readManifest()
            let largestSlab = manifest.slabs.map { $0.segments.reduce(0) { $0 + $1.bytes } }.max()!
            let maxBytes = largestSlab + (64 << 10)
            let parts = try ArchiveSplitMerge.split(path, maxBytes: maxBytes, into: dir.path + "/parts", createdAt: "x")
            // Killed while writing part 3: its segments are there, its manifest and checksums are not; part 4 never began.
            for name in ["manifest.json", "SHA256SUMS"] { try FileManager.default.removeItem(atPath: parts[2] + "/" + name) }
            try FileManager.default.removeItem(atPath: parts[3])
            let again = try ArchiveSplitMerge.split(path, maxBytes: maxBytes, into: dir.path + "/parts", createdAt: "x")
            #expect(again == parts)
            for part in again {
                let report = ArchiveVerifier.verify(part)
                #expect(report.sound && report.warnings.isEmpty, "\(report.errors) \(report.warnings)")
            }
            // A split with other bounds into the same directory is refused, not mixed in.
            #expect(throws: ArchiveSplitMerge.Failure.self) {
                try ArchiveSplitMerge.split(path, maxBytes: 1 << 30, into: dir.path + "/parts", createdAt: "x")
            }

            try ArchiveSplitMerge.merge(parts, into: dir.path + "/merged", createdAt: "y")
            for name in ["manifest.json", "SHA256SUMS"] { try FileManager.default.removeItem(atPath: dir.path + "/merged/" + name) }
            try ArchiveSplitMerge.merge(parts, into: dir.path + "/merged", createdAt: "y")
            let report = ArchiveVerifier.verify(dir.path + "/merged")
            #expect(report.sound && report.warnings.isEmpty, "\(report.errors) \(report.warnings)")
            #expect(try SeriesComparison.archiveContents(dir.path + "/merged") == original)
        }
    }

    @Test func mergeRefusesOverlapsAndGaps() throws {
        try withArchive { path, dir in
            let parts = try ArchiveSplitMerge.split(path, maxBytes: 1 << 30, into: dir.path + "/one", createdAt: "x")
            #expect(parts.count == 1)
            #expect(throws: ArchiveSplitMerge.Failure.self) {
                try ArchiveSplitMerge.merge([path, parts[0]], into: dir.path + "/overlap", createdAt: "y")
            }
            let largestSlab = try ArchiveDirectory(root: path).readManifest().slabs.map { $0.segments.reduce(0) { $0 + $1.bytes } }.max()!
            let quarters = try ArchiveSplitMerge.split(path, maxBytes: largestSlab + (64 << 10), into: dir.path + "/q", createdAt: "z")
            #expect(quarters.count == 4)
            let gap = #expect(throws: ArchiveSplitMerge.Failure.self) {
                try ArchiveSplitMerge.merge([quarters[0], quarters[2]], into: dir.path + "/gap", createdAt: "y")
            }
            #expect(gap?.description.contains("gap") == true)
            let tooSmall = #expect(throws: ArchiveSplitMerge.Failure.self) {
                try ArchiveSplitMerge.split(path, maxBytes: 1000, into: dir.path + "/tiny", createdAt: "x")
            }
            #expect(tooSmall?.description.contains("--max-bytes") == true)
        }
    }

    @Test func catStreamsJSONLinesWithEveryValue() throws {
        try withArchive { path, _ in
            var text = ""
            let counts = try ArchiveCat.run(path, format: .jsonl, filter: try SeriesFilter(selectors: [try SeriesSelector(parsing: "cpu")])) {
                text += $0
            }
            #expect(counts.samples == dataset.filter { $0.labels.metricName == "cpu" }.reduce(0) { $0 + $1.samples.count })
            #expect(text.contains("\"StaleNaN\""))
            let first = try JSONSerialization.jsonObject(with: Data(text.split(separator: "\n")[0].utf8)) as! [String: Any]
            #expect((first["labels"] as! [String: String])["__name__"] == "cpu")
        }
    }

    /// cat once wrote invalid UTF-8 label bytes as U+FFFD, and OpenMetrics without a metric name or
    /// with an empty label name, all with exit 0. Each such series is now refused by name.
    @Test(arguments: [
        (Labels(sorting: [Label("__name__", "ok"), Label(name: Array("bad".utf8), value: [0x61, 0xFF, 0xFE])]), "not valid UTF-8", true),
        (Labels(sorting: [Label("job", "x")]), "has no metric name", false),
        (Labels(sorting: [Label("__name__", "ok"), Label("", "x")]), "has a label name (\"\") OpenMetrics cannot write", false),
        (Labels(sorting: [Label("__name__", "9lives")]), "has a metric name OpenMetrics cannot write", false),
    ] as [(Labels, String, Bool)])
    func catRefusesWhatItsFormatCannotCarry(_ labels: Labels, _ reason: String, _ jsonlToo: Bool) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let series = [Series(labels: labels, samples: [Sample(timestampMs: t0 + 1000, value: 1)])]
        try TestArchive.write(series, at: dir.path + "/a", startMs: t0, slabMs: hour, slabs: 1)
        let everything = try SeriesFilter(selectors: [labels.metricName == nil ? try SeriesSelector(parsing: #"{job="x"}"#) : .everySeries])
        let error = #expect(throws: ArchiveCat.Unwritable.self) {
            _ = try ArchiveCat.run(dir.path + "/a", format: .openmetrics, filter: everything) { _ in }
        }
        #expect(error?.description.contains(reason) == true, "\(String(describing: error))")
        if jsonlToo {
            #expect(throws: ArchiveCat.Unwritable.self) { _ = try ArchiveCat.run(dir.path + "/a", format: .jsonl, filter: everything) { _ in } }
        } else {
            _ = try ArchiveCat.run(dir.path + "/a", format: .jsonl, filter: everything) { _ in }
        }
    }
}
