import ArchiveFormat
import ArchiveStore
import FoundationEssentials
public import Logging
import PrometheusWire

/// `prom-archive verify`: checks everything a reader relies on, offline.
///
/// The manifest against its rules and version; every listed segment's size, SHA-256 and complete
/// decoding (structure, ordering, counts and time bounds equal to the manifest's, inside its slab);
/// the slab totals; `SHA256SUMS` against the manifest. Files nobody listed are warnings.
public struct ArchiveVerifier {
    public struct Report: Codable, Sendable {
        public var archive: String
        public var segmentsChecked: Int
        public var samplesChecked: Int
        public var bytesChecked: Int
        /// One line per problem, naming the file.
        public var errors: [String]
        public var warnings: [String]
        public var sound: Bool { errors.isEmpty }
    }

    /// Files an archive may hold besides the manifest, the checksums and the listed segments.
    static func isKnownExtra(_ name: String) -> Bool { name == ArchiveNaming.lockFile || ArchiveNaming.isImportFile(name) }

    /// `logger` (when given) hears each segment checked (debug) and the verdict (info).
    public static func verify(_ path: String, logger: Logger? = nil) -> Report {
        let archive = ArchiveDirectory(root: path)
        var report = Report(archive: archive.root, segmentsChecked: 0, samplesChecked: 0, bytesChecked: 0, errors: [], warnings: [])
        let manifest: Manifest
        do {
            manifest = try archive.readManifest()
        } catch {
            report.errors.append("\(error)")
            return report
        }
        for slab in manifest.slabs {
            var slabSamples = 0
            // Import concatenates a series' pieces in manifest order, so across the segments of a slab
            // its timestamps must keep increasing: an overlap would be sent twice. 24 bytes a series.
            var lastTimestamp: [Fingerprint: Int64] = [:]
            var overlaps = 0
            for segment in slab.segments {
                do {
                    // Within a segment the decoder already enforces the order, so only a later segment can overlap.
                    try archive.readSegment(segment) { record in
                        let fingerprint = Fingerprint(record.labels)
                        guard let firstT = record.firstTimestampMs, let lastT = record.lastTimestampMs else { return }
                        if let last = lastTimestamp[fingerprint], firstT <= last {
                            overlaps += 1
                            if overlaps <= 3 {
                                report.errors.append("\(archive.path(of: segment.file)): series \(record.labels) starts at "
                                    + "\(firstT), not after \(last), where an earlier segment of slab "
                                    + "\(slab.index) left it: the segments overlap, and import would send those samples twice")
                            }
                        }
                        lastTimestamp[fingerprint] = lastT
                    }
                    if segment.samples > 0 && (segment.minTimestampMs < slab.startMs || segment.maxTimestampMs >= slab.endMs) {
                        report.errors.append("\(archive.path(of: segment.file)): samples from \(segment.minTimestampMs) to "
                            + "\(segment.maxTimestampMs) reach outside its slab [\(slab.startMs), \(slab.endMs))")
                    }
                    report.segmentsChecked += 1
                    report.samplesChecked += segment.samples
                    report.bytesChecked += segment.bytes
                    logger?.debug("segment checked", metadata: [
                        "segment": "\(segment.file)", "slab": "\(slab.index)", "samples": "\(segment.samples)", "bytes": "\(segment.bytes)"])
                } catch {
                    report.errors.append("\(error)")
                }
                slabSamples += segment.samples
            }
            if overlaps > 3 {
                report.errors.append("\(archive.manifestPath): slab \(slab.index) has \(overlaps - 3) more overlapping series")
            }
            if slabSamples != slab.samples {
                report.errors.append("\(archive.manifestPath): slab \(slab.index) says \(slab.samples) samples, its segments hold \(slabSamples)")
            }
        }
        report.errors += checkSums(archive, manifest)
        report.warnings += unknownFiles(archive, manifest)
        if !manifest.complete {
            report.warnings.append("\(archive.manifestPath): the export is not complete; the archive covers "
                + "[\(manifest.selection.startMs), \(manifest.resumePointMs)) of [\(manifest.selection.startMs), \(manifest.selection.endMs))")
        }
        logger?.info("archive verified", metadata: [
            "archive": "\(archive.root)", "sound": "\(report.sound)", "segments": "\(report.segmentsChecked)",
            "samples": "\(report.samplesChecked)", "bytes": "\(report.bytesChecked)", "problems": "\(report.errors.count)",
            "warnings": "\(report.warnings.count)"])
        return report
    }

    /// `SHA256SUMS` must list exactly the manifest's digests (and the manifest's own, which must match the file).
    static func checkSums(_ archive: ArchiveDirectory, _ manifest: Manifest) -> [String] {
        let text: String
        do {
            guard let read = try archive.readChecksums() else {
                return ["\(archive.checksumsPath) is missing; `sha256sum -c` cannot check this archive"]
            }
            text = read
        } catch {
            return ["\(error); `sha256sum -c` cannot check this archive"]
        }
        var listed: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { return ["\(archive.checksumsPath): malformed line \"\(line)\""] }
            listed[parts[1].trimmedOfSpaces().trimmed { $0 == "*" }] = String(parts[0])
        }
        var errors: [String] = []
        for segment in manifest.segments where listed[segment.file] != segment.sha256 {
            errors.append("\(archive.checksumsPath): \(segment.file) is \(listed[segment.file] == nil ? "not listed" : "listed with another digest")")
        }
        if let manifestBytes = try? archive.location.readWhole(ArchiveNaming.manifestFile, limit: ArchiveDirectory.maxManifestBytes),
           listed[ArchiveNaming.manifestFile] != ArchiveDigest.sha256(manifestBytes) {
            errors.append("\(archive.checksumsPath): the digest of \(ArchiveNaming.manifestFile) does not match the file "
                + "(was the manifest edited?)")
        }
        for name in listed.keys where name != ArchiveNaming.manifestFile && !manifest.segments.contains(where: { $0.file == name }) {
            errors.append("\(archive.checksumsPath): lists \(name), which manifest.json does not")
        }
        return errors
    }

    static func unknownFiles(_ archive: ArchiveDirectory, _ manifest: Manifest) -> [String] {
        let listed = Set(manifest.segments.map(\.file))
        let location = archive.location
        var warnings: [String] = []
        let top = ((try? location.list("")) ?? []).sorted()
        for name in top where ![ArchiveNaming.manifestFile, ArchiveNaming.checksumsFile, ArchiveNaming.segmentsDirectory].contains(name)
            && !isKnownExtra(name) {
            warnings.append("\(archive.path(of: name)): unknown file, not part of the archive")
        }
        let links = location.canHoldLinks
        for name in top where links && (try? location.entry(name)) == .link {
            warnings.append("\(archive.path(of: name)): a symbolic link; no promferry tool follows it, and copies of the "
                + "archive should not hold one")
        }
        let segments = ((try? location.list(ArchiveNaming.segmentsDirectory)) ?? []).sorted()
        for name in segments where links && (try? location.entry(ArchiveNaming.segmentsDirectory + "/" + name)) == .link {
            warnings.append("\(archive.segmentsPath)/\(name): a symbolic link; no promferry tool follows it")
        }
        for name in segments where !listed.contains(ArchiveNaming.segmentsDirectory + "/" + name) {
            warnings.append("\(archive.segmentsPath)/\(name): not listed in manifest.json (left by an interrupted export?), ignored")
        }
        return warnings
    }
}
