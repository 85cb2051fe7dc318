import ArchiveFormat
import ArchiveStore
import FoundationEssentials
import PrometheusWire
public import Logging

/// `prom-archive split` and `merge`: re-cut archives along slab boundaries without re-encoding a byte.
public enum ArchiveSplitMerge {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Splits `source` into `OUTDIR/part-001`, `part-002`, … each at most `maxBytes` on disk (segments plus
    /// manifest and checksums) and each a complete archive of consecutive slabs. Returns the part paths.
    public static func split(_ source: String, maxBytes: Int, into outDirectory: String, createdAt: String,
                             logger: Logger? = nil) throws -> [String] {
        let input = ArchiveDirectory(root: source)
        let manifest = try input.readManifest()
        // Room for a part's own manifest and checksums.
        let overhead = 64 << 10
        var groups: [[Manifest.SlabEntry]] = [[]]
        var used = 0
        for slab in manifest.slabs {
            let bytes = slab.segments.reduce(0) { $0 + $1.bytes }
            guard bytes + overhead <= maxBytes else {
                throw Failure(description: "slab \(slab.index) of \(source) alone takes \(bytes) bytes, more than --max-bytes "
                    + "\(maxBytes) allows; re-export with a shorter --slab or a smaller --segment-size")
            }
            if used + bytes + overhead > maxBytes && !groups[groups.count - 1].isEmpty {
                groups.append([])
                used = 0
            }
            groups[groups.count - 1].append(slab)
            used += bytes
        }
        groups.removeAll { $0.isEmpty }
        let partNames = groups.indices.map { "part-" + cFormat("%03d", $0 + 1) }
        // A directory holding only parts of this split (a re-run after an interruption) is taken up again.
        // A directory, or a bucket prefix (whose parts are prefixes under it).
        let folder = ArchiveLocations.location(for: outDirectory)
        if try folder.exists() {
            if let stranger = try folder.list("").first(where: { !partNames.contains($0) }) {
                throw Failure(description: "\(outDirectory) holds \(stranger), which is not a part of this split; choose an empty "
                    + "or new directory for the parts")
            }
        }
        if folder is LocalDirectory { try FileManager.default.createDirectory(atPath: outDirectory, withIntermediateDirectories: true) }
        var paths: [String] = []
        for (number, slabs) in groups.enumerated() {
            let path = outDirectory + "/" + partNames[number]
            var part = manifest
            part.createdAt = createdAt
            part.updatedAt = createdAt
            part.selection.startMs = slabs.first!.startMs
            part.selection.endMs = slabs.last!.endMs
            part.complete = true
            part.partOf = .init(archiveCreatedAt: manifest.createdAt, startMs: manifest.selection.startMs,
                                endMs: manifest.selection.endMs, part: number + 1, parts: groups.count)
            part.slabs = []
            if try finished(path, holding: slabs) {
                logger?.info("part already written", metadata: ["part": "\(path)", "slabs": "\(slabs.count)"])
                paths.append(path)
                continue
            }
            try write(slabs, from: input, to: path, manifest: part)
            logger?.info("part written", metadata: [
                "part": "\(path)", "slabs": "\(slabs.count)", "slab.first": "\(slabs.first!.index)",
                "bytes": "\(slabs.reduce(0) { $0 + $1.segments.reduce(0) { $0 + $1.bytes } })"])
            paths.append(path)
        }
        return paths
    }

    /// Merges archives whose slabs follow each other in time (after sorting by start) into `output`.
    /// Overlapping or gapped ranges are refused: the result must say exactly what each slab holds.
    public static func merge(_ sources: [String], into output: String, createdAt: String, logger: Logger? = nil) throws {
        guard sources.count >= 2 else { throw Failure(description: "merge needs at least two archives") }
        let inputs = try sources.map { path -> (ArchiveDirectory, Manifest) in
            let archive = ArchiveDirectory(root: path)
            return (archive, try archive.readManifest())
        }.sorted { $0.1.selection.startMs < $1.1.selection.startMs }
        let first = inputs[0].1
        for (archive, manifest) in inputs.dropFirst() {
            guard manifest.selection.selectors == first.selection.selectors else {
                throw Failure(description: "\(archive.root) selects \(manifest.selection.selectors.joined(separator: " ")), "
                    + "\(inputs[0].0.root) selects \(first.selection.selectors.joined(separator: " ")); only exports of the same selectors merge")
            }
            guard manifest.source.droppedLabels == first.source.droppedLabels else {
                throw Failure(description: "\(archive.root) and \(inputs[0].0.root) dropped different labels; they do not merge")
            }
        }
        try checkShardSet(inputs)
        if inputs[0].1.shard?.by == "series" {
            try mergeSeriesParts(inputs, into: output, createdAt: createdAt, logger: logger)
            return
        }
        for (previous, next) in zip(inputs, inputs.dropFirst()) {
            let end = previous.1.resumePointMs, start = next.1.selection.startMs
            if start < end {
                throw Failure(description: "\(previous.0.root) covers up to \(end) but \(next.0.root) starts at \(start): overlapping "
                    + "ranges are refused (merging them could duplicate or contradict samples); cut one with prom-archive split first")
            }
            if start > end {
                throw Failure(description: "\(previous.0.root) ends at \(end) but \(next.0.root) starts at \(start): the gap "
                    + "[\(end), \(start)) is in neither archive; export it and merge it too")
            }
        }
        var merged = first
        merged.createdAt = createdAt
        merged.updatedAt = createdAt
        merged.selection.startMs = first.selection.startMs
        merged.selection.endMs = inputs.last!.1.selection.endMs
        merged.selection.startArgument = String(merged.selection.startMs)
        merged.selection.endArgument = String(merged.selection.endMs)
        merged.complete = inputs.last!.1.complete && inputs.allSatisfy { $0.1.complete || $0.1.resumePointMs == $0.1.selection.endMs }
        merged.partOf = nil
        merged.shard = nil
        merged.segmentFormatVersion = inputs.map(\.1.segmentFormatVersion).max()!
        merged.mergedFrom = inputs.map { .init(createdAt: $0.1.createdAt, source: $0.1.source.url,
                                               startMs: $0.1.selection.startMs, endMs: $0.1.selection.endMs) }
        if !merged.complete { merged.selection.endMs = inputs.last!.1.selection.endMs }
        merged.slabs = []
        let output = ArchiveDirectory(root: output)
        try output.prepareForWriting()
        guard try !output.hasManifest else { throw Failure(description: "\(output.root) already holds an archive; choose a new directory") }
        // What an interrupted merge left (segments without a manifest) is removed; the merge starts over.
        try output.removeOrphans(keeping: nil)
        for (archive, manifest) in inputs {
            try append(manifest.slabs, from: archive, to: output, manifest: &merged)
            logger?.info("archive merged in", metadata: ["archive": "\(archive.root)", "slabs": "\(manifest.slabs.count)"])
        }
        try output.commit(merged)
    }

    /// The parts of a job split by series (`prom-export --shard-by series`): each read the whole range
    /// in the same fixed slabs, so slab k of the result holds the segments of slab k of every part,
    /// renumbered, never re-encoded. The parts' series are disjoint (each metric name is in one part).
    static func mergeSeriesParts(_ inputs: [(ArchiveDirectory, Manifest)], into output: String, createdAt: String, logger: Logger?) throws {
        let parts = inputs.sorted { $0.1.shard!.index < $1.1.shard!.index }
        let first = parts[0]
        for (archive, manifest) in parts {
            guard manifest.complete else {
                throw Failure(description: "\(archive.root) (part \(manifest.shard!.index)/\(manifest.shard!.count)) is not complete; "
                    + "re-run its export to finish it, then merge")
            }
            guard manifest.selection.selectors == first.1.selection.selectors, manifest.source.droppedLabels == first.1.source.droppedLabels,
                  manifest.source.url == first.1.source.url else {
                throw Failure(description: "\(archive.root) and \(first.0.root) are parts of exports with other sources, selectors or "
                    + "dropped labels; merge the parts of one job")
            }
            let grid = { (m: Manifest) in m.slabs.map { [$0.startMs, $0.endMs] } }
            guard grid(manifest) == grid(first.1) else {
                throw Failure(description: "the slabs of \(archive.root) do not line up with those of \(first.0.root) (a slab read was "
                    + "split to stay within --max-memory); merge them by time instead: export each part again with a larger --max-memory")
            }
        }
        var merged = first.1
        merged.createdAt = createdAt
        merged.updatedAt = createdAt
        merged.shard = nil
        merged.partOf = nil
        merged.segmentFormatVersion = parts.map(\.1.segmentFormatVersion).max()!
        merged.mergedFrom = parts.map { .init(createdAt: $0.1.createdAt, source: $0.1.source.url,
                                              startMs: $0.1.selection.startMs, endMs: $0.1.selection.endMs) }
        merged.slabs = []
        let destination = ArchiveDirectory(root: output)
        try destination.prepareForWriting()
        guard try !destination.hasManifest else { throw Failure(description: "\(destination.root) already holds an archive; choose a new directory") }
        try destination.removeOrphans(keeping: nil)
        for (k, slab) in first.1.slabs.enumerated() {
            var entry = Manifest.SlabEntry(index: k, startMs: slab.startMs, endMs: slab.endMs, series: 0, samples: 0, segments: [])
            for (archive, manifest) in parts {
                let own = manifest.slabs[k]
                for segment in own.segments {
                    try archive.verifyChecksum(segment)
                    var placed = segment
                    placed.file = ArchiveNaming.segmentPath(slab: k, part: entry.segments.count)
                    try destination.placeSegment(segment.file, from: archive, as: placed.file)
                    entry.segments.append(placed)
                }
                entry.series += own.series
                entry.samples += own.samples
            }
            merged.slabs.append(entry)
        }
        for (archive, manifest) in parts {
            logger?.info("archive merged in", metadata: ["archive": "\(archive.root)", "slabs": "\(manifest.slabs.count)"])
        }
        try destination.commit(merged)
    }

    /// Parts of a sharded export (`prom-export --shard`) merge only as a whole job: every part 0…N-1 of
    /// the same job once, nothing else with them.
    static func checkShardSet(_ inputs: [(ArchiveDirectory, Manifest)]) throws {
        let sharded = inputs.filter { $0.1.shard != nil }
        guard let first = sharded.first?.1.shard else { return }
        guard sharded.count == inputs.count else {
            let whole = inputs.first { $0.1.shard == nil }!.0.root
            throw Failure(description: "\(sharded[0].0.root) is part \(first.index)/\(first.count) of a sharded export, \(whole) is not; "
                + "merge the parts of one job together, then merge the result with other archives")
        }
        for (archive, manifest) in sharded {
            let shard = manifest.shard!
            guard shard.count == first.count, shard.by == first.by, shard.jobStartMs == first.jobStartMs, shard.jobEndMs == first.jobEndMs else {
                throw Failure(description: "\(archive.root) is part \(shard.index)/\(shard.count) of another job than \(sharded[0].0.root) "
                    + "(part \(first.index)/\(first.count)); merge the parts of one job")
            }
        }
        let indices = sharded.map { $0.1.shard!.index }
        if let twice = Dictionary(grouping: indices, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
            throw Failure(description: "part \(twice)/\(first.count) is given twice; give each part once")
        }
        let missing = Set(0..<first.count).subtracting(indices).sorted()
        guard missing.isEmpty else {
            throw Failure(description: "the job has \(first.count) parts, but part\(missing.count == 1 ? "" : "s") "
                + "\(missing.map { "\($0)/\(first.count)" }.joined(separator: ", ")) \(missing.count == 1 ? "is" : "are") missing; "
                + "export \(missing.count == 1 ? "it" : "them") (prom-export --shard) and merge every part")
        }
    }

    /// Whether the part at `path` was completed by an earlier, interrupted run: its manifest lists
    /// exactly these slabs' segments (by SHA-256). A part holding anything else is refused.
    static func finished(_ path: String, holding slabs: [Manifest.SlabEntry]) throws -> Bool {
        let part = ArchiveDirectory(root: path)
        guard try part.hasManifest else { return false }
        let manifest = try part.readManifest()
        guard manifest.complete, manifest.slabs.map({ $0.segments.map(\.sha256) }) == slabs.map({ $0.segments.map(\.sha256) }) else {
            throw Failure(description: "\(path) holds other slabs than this split puts there (an earlier split with another "
                + "--max-bytes?); remove it or choose a new directory")
        }
        return true
    }

    static func write(_ slabs: [Manifest.SlabEntry], from input: ArchiveDirectory, to path: String, manifest: Manifest) throws {
        let output = ArchiveDirectory(root: path)
        try output.prepareForWriting()
        // What an interrupted run left in this part (segments without a manifest) is removed first.
        try output.removeOrphans(keeping: nil)
        var manifest = manifest
        try append(slabs, from: input, to: output, manifest: &manifest)
        try output.commit(manifest)
    }

    /// Places the slabs' segments under new names (slab indices continue `manifest.slabs`) and records them.
    static func append(_ slabs: [Manifest.SlabEntry], from input: ArchiveDirectory, to output: ArchiveDirectory,
                       manifest: inout Manifest) throws {
        for slab in slabs {
            var entry = slab
            entry.index = manifest.slabs.count
            entry.segments = []
            for (part, segment) in slab.segments.enumerated() {
                // Verify before copying, so a damaged segment never reaches a new archive.
                try input.verifyChecksum(segment)
                var placed = segment
                placed.file = ArchiveNaming.segmentPath(slab: entry.index, part: part)
                try output.placeSegment(segment.file, from: input, as: placed.file)
                entry.segments.append(placed)
            }
            manifest.slabs.append(entry)
        }
    }
}
