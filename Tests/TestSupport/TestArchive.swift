import ArchiveFormat
import ArchiveStore
public import PrometheusWire

/// Writes an archive of `series` over `[startMs, startMs + slabs × slabMs)`, each slab split into two
/// segments (even and odd series), the way prom-export lays it out.
public enum TestArchive {
    public static func write(_ series: [Series], at path: String, startMs: Int64, slabMs: Int64, slabs: Int) throws {
        let archive = ArchiveDirectory(root: path)
        try archive.prepareForWriting()
        var manifest = Manifest(tool: .init(name: "test", version: "0"), createdAt: "2024-01-01T00:00:00Z",
                                source: .init(url: "http://source/api/v1/read", externalLabels: [:], droppedLabels: []),
                                selection: .init(selectors: ["{__name__=~\".+\"}"], startMs: startMs,
                                                 endMs: startMs + Int64(slabs) * slabMs, startArgument: "a", endArgument: "b"),
                                slabPlan: .init(slabDurationMs: slabMs, segmentTargetBytes: 1 << 20))
        for slab in 0..<slabs {
            let start = startMs + Int64(slab) * slabMs
            var segments: [Manifest.SegmentEntry] = []
            var slabSeries = 0
            for part in 0..<2 {
                let encoder = try SegmentEncoder(compressionLevel: 1)
                let file = try archive.createSegment(ArchiveNaming.segmentPath(slab: slab, part: part))
                try file.write(encoder.start())
                for s in series.enumerated().filter({ $0.offset % 2 == part }).map(\.element) {
                    let floats = s.floats { $0 >= start && $0 < start + slabMs }
                    let histograms = s.histograms.filter { $0.timestampMs >= start && $0.timestampMs < start + slabMs }
                    try file.write(try encoder.append(Series(labels: s.labels, samples: floats.samples, histograms: histograms,
                                                             sampleStartTimestampsMs: floats.startTimestampsMs)))
                }
                try file.write(try encoder.finish())
                slabSeries += encoder.summary.series
                segments.append(.init(file: file.relativePath, bytes: file.bytesWritten, sha256: try file.commit(),
                                      summary: encoder.summary))
            }
            manifest.slabs.append(.init(index: slab, startMs: start, endMs: start + slabMs, series: slabSeries,
                                        samples: segments.reduce(0) { $0 + $1.samples }, segments: segments))
        }
        manifest.complete = true
        try archive.commit(manifest)
    }
}
