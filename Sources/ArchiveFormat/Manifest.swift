public import PrometheusWire

/// The archive's manifest, `manifest.json`, as specified in `formats/manifest-v1.md`.
///
/// It records what was asked (source, selectors, range), how the range is being cut (the slab plan),
/// what is done (completed slabs with their segments and checksums), and whether the export finished.
/// Adding an optional key is not a version change; readers ignore keys they do not know.
public struct Manifest: Codable, Equatable, Sendable {
    public static let formatName = "promferry-archive"
    /// The highest manifest version this tool reads; it writes this version.
    public static let highestSupportedVersion = 1

    public var format: String
    public var formatVersion: Int
    public var segmentFormatVersion: Int
    public var tool: Tool
    public var createdAt: String
    public var updatedAt: String
    public var source: Source
    public var selection: Selection
    public var slabPlan: SlabPlan
    /// True once every slab of the range has been exported.
    public var complete: Bool
    /// Completed slabs in time order; together they cover `[selection.startMs, end of the last slab)`.
    public var slabs: [SlabEntry]
    /// Set on the parts `prom-archive split` writes: which archive they come from. Optional key.
    public var partOf: PartOf?
    /// Set by `prom-archive merge`: the archives merged, as `createdAt` and source URL. Optional key.
    public var mergedFrom: [MergedArchive]?
    /// Set by `prom-archive compact`: the `createdAt` of the archive as the export wrote it (compaction
    /// gives the archive a new `createdAt`, as its segments changed). Optional key.
    public var compactedFrom: String?
    /// Set by `prom-export --shard I/N`: the archive is one part of an export job split across
    /// workers. Optional key.
    public var shard: ShardPart?

    /// Part `index` (0-based) of `count` of one export job. `by` says how the job was split: `time`,
    /// the job's range `[jobStartMs, jobEndMs)` cut into `count` contiguous parts on the slab grid
    /// (`selection` holds this part's range); `series`, the metric names split by `Shard`'s hash of
    /// `{__name__="name"}`, the names of this part listed in `metricNames` (the whole range each).
    public struct ShardPart: Codable, Equatable, Sendable {
        public var index: Int
        public var count: Int
        public var by: String
        public var jobStartMs: Int64
        public var jobEndMs: Int64
        /// `by` `series` only: the metric names this part exports, sorted, as listed when it began.
        public var metricNames: [String]?

        public init(index: Int, count: Int, by: String, jobStartMs: Int64, jobEndMs: Int64, metricNames: [String]? = nil) {
            self.index = index
            self.count = count
            self.by = by
            self.jobStartMs = jobStartMs
            self.jobEndMs = jobEndMs
            self.metricNames = metricNames
        }

        /// The part a metric name falls to when a job is split by series.
        public static func part(ofMetric name: String, count: Int) -> Int {
            Shard.part(of: Labels(sorted: [Label("__name__", name)]), count: count)
        }

        /// The range of part `index` of `count` of `[startMs, endMs)`, on the grid of `slabMs` from
        /// `startMs`: each part holds a whole number of slabs, the parts differ by at most one, and the
        /// last ends at `endMs`. Nil when the range holds fewer slabs than parts.
        public static func timeRange(index: Int, count: Int, startMs: Int64, endMs: Int64, slabMs: Int64) -> Range<Int64>? {
            let slabs = (endMs - startMs + slabMs - 1) / slabMs
            guard slabs >= Int64(count) else { return nil }
            func boundary(_ k: Int) -> Int64 { k == count ? endMs : startMs + slabs * Int64(k) / Int64(count) * slabMs }
            return boundary(index)..<boundary(index + 1)
        }
    }

    public struct PartOf: Codable, Equatable, Sendable {
        public var archiveCreatedAt: String
        /// The original archive's selected range, half-open.
        public var startMs: Int64
        public var endMs: Int64
        /// 1-based part number, and how many parts there are.
        public var part: Int
        public var parts: Int

        public init(archiveCreatedAt: String, startMs: Int64, endMs: Int64, part: Int, parts: Int) {
            self.archiveCreatedAt = archiveCreatedAt
            self.startMs = startMs
            self.endMs = endMs
            self.part = part
            self.parts = parts
        }
    }

    public struct MergedArchive: Codable, Equatable, Sendable {
        public var createdAt: String
        public var source: String
        public var startMs: Int64
        public var endMs: Int64

        public init(createdAt: String, source: String, startMs: Int64, endMs: Int64) {
            self.createdAt = createdAt
            self.source = source
            self.startMs = startMs
            self.endMs = endMs
        }
    }

    public struct Tool: Codable, Equatable, Sendable {
        public var name: String
        public var version: String
        public init(name: String, version: String) { self.name = name; self.version = version }
    }

    public struct Source: Codable, Equatable, Sendable {
        /// The remote-read URL with any user-info and query credentials removed.
        public var url: String
        /// The labels the source adds to every series it returns (a Prometheus' `external_labels`),
        /// as reported by the source; empty when the source does not say.
        public var externalLabels: [String: String]
        /// Label names removed from every series at export (`--drop-label`).
        public var droppedLabels: [String]
        /// What kind of source `url` is: `remote-read` or `victoriametrics` (its `/api/v1/export`).
        /// Absent in archives written before sources other than remote read existed, which mean `remote-read`.
        public var kind: String?

        public init(url: String, externalLabels: [String: String], droppedLabels: [String], kind: String? = nil) {
            self.url = url
            self.externalLabels = externalLabels
            self.droppedLabels = droppedLabels
            self.kind = kind
        }

        /// `kind`, with the meaning of its absence.
        public var kindOrRemoteRead: String { kind ?? "remote-read" }
    }

    public struct Selection: Codable, Equatable, Sendable {
        /// PromQL selectors in canonical form; a series is exported when it matches any of them.
        public var selectors: [String]
        /// Half-open range `[startMs, endMs)` in Unix milliseconds.
        public var startMs: Int64
        public var endMs: Int64
        /// The `--start`/`--end` arguments as given, so that a relative range (`-30d`, `now`) resumes
        /// against the range it first resolved to.
        public var startArgument: String
        public var endArgument: String

        public init(selectors: [String], startMs: Int64, endMs: Int64, startArgument: String, endArgument: String) {
            self.selectors = selectors
            self.startMs = startMs
            self.endMs = endMs
            self.startArgument = startArgument
            self.endArgument = endArgument
        }
    }

    public struct SlabPlan: Codable, Equatable, Sendable {
        /// Width of each slab in milliseconds (the last one may be shorter).
        public var slabDurationMs: Int64
        /// Segment size bound in bytes: a segment is closed once it reaches it.
        public var segmentTargetBytes: Int

        public init(slabDurationMs: Int64, segmentTargetBytes: Int) {
            self.slabDurationMs = slabDurationMs
            self.segmentTargetBytes = segmentTargetBytes
        }
    }

    public struct SlabEntry: Codable, Equatable, Sendable {
        public var index: Int
        public var startMs: Int64
        public var endMs: Int64
        public var series: Int
        public var samples: Int
        public var segments: [SegmentEntry]

        public init(index: Int, startMs: Int64, endMs: Int64, series: Int, samples: Int, segments: [SegmentEntry]) {
            self.index = index
            self.startMs = startMs
            self.endMs = endMs
            self.series = series
            self.samples = samples
            self.segments = segments
        }
    }

    public struct SegmentEntry: Codable, Equatable, Sendable {
        /// Path relative to the archive directory, always `segments/<name>`.
        public var file: String
        public var bytes: Int
        public var sha256: String
        public var blocks: Int
        public var records: Int
        public var series: Int
        public var samples: Int
        public var minTimestampMs: Int64
        public var maxTimestampMs: Int64
        /// Of `samples`, the native histograms; absent when there are none (and in archives written
        /// before histograms were archived, which hold none).
        public var histograms: Int?

        public init(file: String, bytes: Int, sha256: String, summary: SegmentSummary) {
            self.file = file
            self.bytes = bytes
            self.sha256 = sha256
            self.blocks = summary.blocks
            self.records = summary.records
            self.series = summary.series
            self.samples = summary.samples
            self.minTimestampMs = summary.samples == 0 ? 0 : summary.minTimestampMs
            self.maxTimestampMs = summary.samples == 0 ? 0 : summary.maxTimestampMs
            self.histograms = summary.histogramSamples > 0 ? summary.histogramSamples : nil
        }
    }

    /// Whether any segment holds native histograms.
    public var holdsHistograms: Bool { segments.contains { ($0.histograms ?? 0) > 0 } }

    public init(tool: Tool, createdAt: String, source: Source, selection: Selection, slabPlan: SlabPlan) {
        self.format = Manifest.formatName
        self.formatVersion = Manifest.highestSupportedVersion
        self.segmentFormatVersion = Int(SegmentLayout.formatVersion)
        self.tool = tool
        self.createdAt = createdAt
        self.updatedAt = createdAt
        self.source = source
        self.selection = selection
        self.slabPlan = slabPlan
        self.complete = false
        self.slabs = []
    }

    /// Where the next slab starts: the end of the last completed slab, or the range start.
    public var resumePointMs: Int64 { slabs.last?.endMs ?? selection.startMs }

    /// Largest count a manifest may state (JSON numbers are exact up to here).
    public static let maxCount = 1 << 53

    /// Sums that `validate()` has checked not to overflow.
    public var totalSamples: Int { slabs.reduce(0) { $0 + $1.samples } }
    public var totalBytes: Int { slabs.reduce(0) { $0 + $1.segments.reduce(0) { $0 + $1.bytes } } }
    public var segments: [SegmentEntry] { slabs.flatMap(\.segments) }

    /// Checks the rules a reader relies on; throws naming the first broken one.
    public func validate() throws {
        func bad(_ what: String) -> ArchiveFormatError { ArchiveFormatError(.corrupt, "manifest.json: \(what)") }
        guard format == Manifest.formatName else { throw bad("format is \"\(format)\", expected \"\(Manifest.formatName)\"") }
        guard formatVersion >= 1 else { throw bad("formatVersion \(formatVersion) is invalid") }
        guard formatVersion <= Manifest.highestSupportedVersion else {
            throw ArchiveFormatError(.unsupportedVersion, "manifest.json: format version \(formatVersion) is newer than "
                + "this tool supports (highest: \(Manifest.highestSupportedVersion)); upgrade promferry")
        }
        guard segmentFormatVersion >= 1 && segmentFormatVersion <= Int(SegmentLayout.formatVersion) else {
            throw ArchiveFormatError(.unsupportedVersion, "manifest.json: segment format version \(segmentFormatVersion) "
                + "is not supported (highest: \(SegmentLayout.formatVersion)); upgrade promferry")
        }
        guard selection.startMs < selection.endMs else { throw bad("selection range is empty") }
        var expectedStart = selection.startMs
        var names = Set<String>()
        // Counts come from a file: each must be a count, and their sums (totalSamples, totalBytes)
        // must stay inside Int, so that no arithmetic on a hostile manifest can trap.
        var sums = (samples: 0, bytes: 0)
        func checkCount(_ value: Int, _ what: String) throws {
            guard (0...Manifest.maxCount).contains(value) else { throw bad("\(what) is \(value), outside 0...2^53") }
        }
        func add(_ value: Int, to sum: inout Int, _ what: String) throws {
            try checkCount(value, what)
            let (total, overflow) = sum.addingReportingOverflow(value)
            guard !overflow else { throw bad("\(what) makes the archive's total overflow") }
            sum = total
        }
        for (i, slab) in slabs.enumerated() {
            guard slab.index == i else { throw bad("slab \(i) has index \(slab.index)") }
            try add(slab.samples, to: &sums.samples, "slab \(i)'s sample count")
            try checkCount(slab.series, "slab \(i)'s series count")
            guard slab.startMs == expectedStart, slab.endMs > slab.startMs, slab.endMs <= selection.endMs else {
                throw bad("slab \(i) [\(slab.startMs), \(slab.endMs)) does not continue the previous slab at \(expectedStart)")
            }
            expectedStart = slab.endMs
            for segment in slab.segments {
                guard ArchiveNaming.isValidSegmentPath(segment.file) else {
                    throw bad("segment path \"\(segment.file)\" is not of the form segments/<name>.pfs")
                }
                guard names.insert(segment.file).inserted else { throw bad("segment \(segment.file) is listed twice") }
                try add(segment.bytes, to: &sums.bytes, "segment \(segment.file)'s size")
                for (count, name) in [(segment.blocks, "blocks"), (segment.records, "records"), (segment.series, "series"),
                                      (segment.samples, "samples")] {
                    try checkCount(count, "segment \(segment.file)'s \(name) count")
                }
                if let histograms = segment.histograms {
                    try checkCount(histograms, "segment \(segment.file)'s histograms count")
                    guard histograms <= segment.samples else {
                        throw bad("segment \(segment.file) lists \(histograms) histograms among \(segment.samples) samples")
                    }
                }
                guard segment.sha256.count == 64, segment.sha256.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
                    throw bad("segment \(segment.file) has an invalid sha256")
                }
            }
        }
        if complete && expectedStart != selection.endMs {
            throw bad("marked complete, but the slabs end at \(expectedStart), not \(selection.endMs)")
        }
    }
}

/// File naming inside an archive (`formats/archive-layout-v1.md`).
public enum ArchiveNaming {
    public static let manifestFile = "manifest.json"
    public static let checksumsFile = "SHA256SUMS"
    public static let segmentsDirectory = "segments"
    public static let segmentExtension = ".pfs"
    /// The writers' lock (`flock`), held while an export, split or merge writes the archive.
    public static let lockFile = ".promferry.lock"
    /// prom-import's journal and rejects, kept inside the archive unless told otherwise.
    public static let importStateFile = "prom-import.state"
    public static let importRejectsFile = "prom-import.rejects.jsonl"

    /// The journal of one part of a sharded import (`prom-import --shard I/N`): `prom-import.shard-I-of-N.state`,
    /// so that N importers of one archive keep N journals.
    public static func importStateFile(shard: Shard?) -> String {
        shard.map { "prom-import.shard-\($0.index)-of-\($0.count).state" } ?? importStateFile
    }

    public static func importRejectsFile(shard: Shard?) -> String {
        shard.map { "prom-import.shard-\($0.index)-of-\($0.count).rejects.jsonl" } ?? importRejectsFile
    }

    /// Whether `name` is a journal or rejects file of prom-import, sharded or not.
    public static func isImportFile(_ name: String) -> Bool {
        if name == importStateFile || name == importRejectsFile { return true }
        guard name.hasPrefix("prom-import.shard-") else { return false }
        let rest = name.dropFirst("prom-import.shard-".count)
        let stem = rest.hasSuffix(".rejects.jsonl") ? rest.dropLast(".rejects.jsonl".count) : rest.hasSuffix(".state") ? rest.dropLast(".state".count) : nil
        guard let stem else { return false }
        let numbers = stem.split(separator: "-", omittingEmptySubsequences: false)
        return numbers.count == 3 && numbers[1] == "of" && Int(numbers[0]) != nil && Int(numbers[2]) != nil
    }

    /// Whether `name` is a journal of prom-import, sharded or not.
    public static func isImportStateFile(_ name: String) -> Bool {
        isImportFile(name) && name.hasSuffix(".state")
    }

    /// `segments/<slab, 6+ digits>-<part, 4+ digits>.pfs`.
    public static func segmentPath(slab: Int, part: Int) -> String {
        "\(segmentsDirectory)/\(pad(slab, 6))-\(pad(part, 4))\(segmentExtension)"
    }

    /// Only plain names directly inside `segments/` are valid: no `..`, no absolute paths, no subfolders.
    public static func isValidSegmentPath(_ path: String) -> Bool {
        let prefix = segmentsDirectory + "/"
        guard path.hasPrefix(prefix), path.hasSuffix(segmentExtension) else { return false }
        let name = path.dropFirst(prefix.count)
        return !name.isEmpty && name.count <= 200 && !name.hasPrefix(".")
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
