import Foundation
import PeerHarness
import PrometheusWire
import Testing
import TSDBBlocks

/// Blocks written by `BlockWriter` read back, through this package's reader, to exactly the samples
/// that went in: floats of every kind of bits, native histograms of every kind in `HistogramHistory`,
/// series that switch between floats and histograms, pieces that split chunks, and early cuts.
@Suite struct BlockWriterTests {
    static let start: Int64 = 1_764_892_800_000
    static let hour: Int64 = 3_600_000

    /// Histograms with the hints a chunk gives them: the first of a run as it is, the later ones `.no`
    /// (gauges stay `.gauge`), so that chunks hold many samples.
    static func chunkHinted(_ series: Series) -> Series {
        var copy = series
        for i in copy.histograms.indices where i % 50 != 0 && copy.histograms[i].resetHint != .gauge {
            copy.histograms[i].resetHint = .no
        }
        return copy
    }

    static func floats() -> [Series] {
        let specials: [UInt64] = [Sample.staleNaNBits, 0x7FF8_0000_0000_0001, (-0.0).bitPattern, Double.infinity.bitPattern,
                                  (-Double.infinity).bitPattern, Double.leastNonzeroMagnitude.bitPattern, 0x7FF8_0000_0000_0000]
        return (0..<5).map { i in
            var t = start + Int64(i) * 7
            let samples = (0..<900).map { n -> Sample in
                // Regular steps, jitter, and now and then a gap of hours (large delta-of-deltas).
                t += n % 97 == 0 ? 3 * hour + 1 : 15_000 + Int64((n * 31 + i) % 5) - 2
                let bits = n % 61 == 0 ? specials[(n / 61) % specials.count] : (Double(n * (i + 1)) * 0.25 + 1e-9 * Double(n % 7)).bitPattern
                return Sample(timestampMs: t, valueBits: bits)
            }
            return Series(labels: Labels(sorting: [Label("__name__", "f_\(i % 2)"), Label("instance", "i\(i)"), Label("k", i == 3 ? "" : "v")]),
                          samples: samples)
        }
    }

    /// A series that goes float → histogram → float.
    static func switching() -> Series {
        let h = HistogramHistory(seriesCount: 1, startMs: start + hour, endMs: start + 2 * hour).series()[0].histograms
        let before = (0..<100).map { Sample(timestampMs: start + Int64($0) * 30_000, value: Double($0)) }
        let after = (0..<50).map { Sample(timestampMs: start + 2 * hour + Int64($0) * 30_000, value: Double($0)) }
        return Series(labels: Labels(sorting: [Label("__name__", "switching")]), samples: before + after, histograms: h)
    }

    static func writeAndRead(_ series: [Series], pieces: Int, flushEvery: Int? = nil, thanos: [String: String]? = nil)
        async throws -> (read: [Labels: Series], summary: BlockWriter.Summary, directory: TemporaryDirectory) {
        let out = try TemporaryDirectory(prefix: "promferry-block-writer")
        let writer = try BlockWriter(outDirectory: out.path, ulid: BlockULID.make(timeMs: start, seed: [1, 2, 3]), thanosLabels: thanos)
        // Feed each series in `pieces` time-ordered pieces, interleaving series as slabs do.
        let end = series.compactMap(\.lastTimestampMs).max()! + 1
        let width = (end - start) / Int64(pieces) + 1
        for p in 0..<pieces {
            let window = (start + Int64(p) * width)..<(start + Int64(p + 1) * width)
            for s in series {
                let part = s.restricted(to: window)
                try writer.append(s.labels, floats: part.samples[...], histograms: part.histograms[...])
            }
            if let flushEvery, p % flushEvery == 0 { try writer.flushOpenChunks() }
        }
        let summary = try writer.finish()
        let tsdb = try TSDBDirectory(path: out.path)
        var got: [Labels: Series] = [:]
        _ = try await tsdb.read(startMs: start - hour, endMs: end + hour, matchers: SeriesSelector.everySeries.matchers, memoryBudget: nil) {
            got[$0.labels] = $0
        }
        return (got, summary, out)
    }

    @Test func floatsHistogramsAndSwitchingSeriesReadBackExactly() async throws {
        let histograms = HistogramHistory(seriesCount: 18, startMs: Self.start, endMs: Self.start + 4 * Self.hour).series().map(Self.chunkHinted)
        let all = Self.floats() + histograms + [Self.switching()]
        let (got, summary, out) = try await Self.writeAndRead(all, pieces: 7)
        defer { out.remove() }
        #expect(got.count == all.count)
        for series in all {
            let read = try #require(got[series.labels], "\(series.labels) is missing")
            #expect(read.samples == series.samples, "\(series.labels): floats differ")
            #expect(read.histograms == series.histograms, "\(series.labels): histograms differ")
        }
        #expect(summary.series == all.count)
        #expect(summary.samples == all.reduce(0) { $0 + $1.sampleCount })
        #expect(summary.minTimeMs == all.compactMap(\.firstTimestampMs).min())
        #expect(summary.maxTimeMs == all.compactMap(\.lastTimestampMs).max()! + 1)
        #expect(!FileManager.default.fileExists(atPath: out.path + "/" + summary.ulid + BlockWriter.temporarySuffix))
        // Pieces do not cut chunks: floats fill chunks of 120 samples across them (900 samples: 8 chunks a series).
        let (_, floatsOnly, floatsOut) = try await Self.writeAndRead(Self.floats(), pieces: 7)
        floatsOut.remove()
        #expect(floatsOnly.chunks == Self.floats().count * 8)
    }

    @Test func earlyCutsChangeChunksNotSamples() async throws {
        let all = Self.floats() + HistogramHistory(seriesCount: 6, startMs: Self.start, endMs: Self.start + 2 * Self.hour).series().map(Self.chunkHinted)
        let (got, uncut, out) = try await Self.writeAndRead(all, pieces: 20)
        out.remove()
        let (gotCut, cut, outCut) = try await Self.writeAndRead(all, pieces: 20, flushEvery: 1)
        defer { outCut.remove() }
        #expect(gotCut == got)
        #expect(cut.chunks > uncut.chunks)
    }

    @Test func thanosSectionAndMetaFields() async throws {
        let (_, summary, out) = try await Self.writeAndRead(Self.floats(), pieces: 1, thanos: ["cluster": "eu1", "replica": "a"])
        defer { out.remove() }
        let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summary.directory + "/meta.json"))) as! [String: Any]
        #expect(meta["ulid"] as? String == summary.ulid)
        #expect(meta["version"] as? Int == 1)
        #expect((meta["stats"] as? [String: Any])?["numSamples"] as? Int == summary.samples)
        let thanos = try #require(meta["thanos"] as? [String: Any])
        #expect(thanos["labels"] as? [String: String] == ["cluster": "eu1", "replica": "a"])
        #expect((thanos["downsample"] as? [String: Any])?["resolution"] as? Int == 0)
        // The reader adds the Thanos labels to every series, as Thanos does.
        let tsdb = try TSDBDirectory(path: out.path)
        #expect(tsdb.externalLabels == ["cluster": "eu1", "replica": "a"])
    }

    @Test func outOfOrderSamplesAreRefusedAndNothingIsLeft() throws {
        let out = try TemporaryDirectory(prefix: "promferry-block-writer")
        defer { out.remove() }
        let writer = try BlockWriter(outDirectory: out.path, ulid: BlockULID.make(timeMs: Self.start, seed: []), thanosLabels: nil)
        let labels = Labels(sorting: [Label("__name__", "x")])
        try writer.append(labels, floats: [Sample(timestampMs: Self.start + 10, value: 1)][...], histograms: [][...])
        #expect(throws: TSDBError.self) {
            try writer.append(labels, floats: [Sample(timestampMs: Self.start + 10, value: 2)][...], histograms: [][...])
        }
        writer.abandon()
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).isEmpty)
    }

    @Test func ulidsAreValidAndDeterministic() {
        let a = BlockULID.make(timeMs: 1_764_892_800_000, seed: Array("x".utf8))
        #expect(a == BlockULID.make(timeMs: 1_764_892_800_000, seed: Array("x".utf8)))
        #expect(a != BlockULID.make(timeMs: 1_764_892_800_000, seed: Array("y".utf8)))
        // A ULID: 26 characters of Crockford's base 32, the first at most "7" (128 bits).
        let crockford = Set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
        #expect(a.count == 26 && a.allSatisfy(crockford.contains) && a.first! <= "7", "\(a)")
        // The first ten characters are the time: 1764892800000 ms.
        #expect(a.hasPrefix("01KBNWXX00"), "\(a)")
        #expect(BlockULID.make(timeMs: 0, seed: []).hasPrefix("0000000000"))
    }
}

/// The histogram chunk encoder on samples drawn at random: every field over its whole range (counts,
/// bucket deltas and float bits of any value, NaN payloads, zero thresholds of both forms, custom
/// bounds, spans of any offset, empty spans), every reset hint, staleness markers, and layouts kept
/// for runs of samples so that chunks hold many. Written as a block and read back, every sample must
/// be the same.
@Suite struct RandomHistogramRoundTripTests {
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
        /// Small values mostly, any 64 bits sometimes.
        mutating func integer() -> Int64 { chance(80) ? Int64(below(2001)) - 1000 : Int64(bitPattern: next()) }
        mutating func floatBits() -> UInt64 {
            switch below(5) {
            case 0: return next()
            case 1: return 0x7FF8_0000_0000_0000 | (next() & 0xF_FFFF)
            default: return Double(below(100_000)).bitPattern
            }
        }
    }

    static func layout(_ g: inout Generator, float: Bool, hint: HistogramSample.ResetHint) -> HistogramSample {
        let schema: Int32 = g.chance(15) ? HistogramSample.customBucketsSchema : Int32(g.below(13)) - 4
        let threshold: UInt64 = switch g.below(3) {
        case 0: 0
        case 1: (UInt64(1023 + g.below(260) - 250) << 52)
        default: g.floatBits()
        }
        func spans() -> [HistogramSample.Span] {
            (0..<g.below(4)).map { _ in HistogramSample.Span(offset: Int32(g.below(41)) - 20, length: UInt32(g.below(6))) }
        }
        let positive = spans(), negative = schema == HistogramSample.customBucketsSchema ? [] : spans()
        let p = HistogramSample.bucketCount(positive), n = HistogramSample.bucketCount(negative)
        let counts: HistogramSample.Counts = float
            ? .float(countBits: 0, zeroCountBits: 0, positiveBits: Array(repeating: 0, count: p), negativeBits: Array(repeating: 0, count: n))
            : .integer(count: 0, zeroCount: 0, positiveDeltas: Array(repeating: 0, count: p), negativeDeltas: Array(repeating: 0, count: n))
        return HistogramSample(timestampMs: 0, resetHint: hint, schema: schema, zeroThresholdBits: threshold, sumBits: 0,
                               positiveSpans: positive, negativeSpans: negative, counts: counts,
                               customValueBits: schema == HistogramSample.customBucketsSchema ? (0..<g.below(6)).map { _ in g.floatBits() } : [])
    }

    static func series(_ seed: UInt64) -> Series {
        var g = Generator(state: seed)
        var samples: [HistogramSample] = []
        var t = Int64(1_764_892_800_000) + Int64(g.below(1000))
        let float = g.chance(50)
        var shape = layout(&g, float: float, hint: .unknown)
        for _ in 0..<(50 + g.below(400)) {
            t += g.chance(95) ? 15_000 + Int64(g.below(7)) - 3 : Int64(g.below(1 << 30)) + 1
            let hint: HistogramSample.ResetHint = g.chance(85) ? (shape.resetHint == .gauge ? .gauge : .no)
                : [.unknown, .yes, .no, .gauge][g.below(4)]
            if g.chance(4) {
                samples.append({ var m = HistogramSample.staleMarker(timestampMs: t, float: float); m.resetHint = hint; return m }())
                continue
            }
            if g.chance(8) { shape = layout(&g, float: float, hint: hint) }
            var sample = shape
            sample.timestampMs = t
            sample.resetHint = hint
            sample.sumBits = g.floatBits()
            switch shape.counts {
            case .integer(_, _, let p, let n):
                sample.counts = .integer(count: g.chance(80) ? UInt64(g.below(1 << 20)) : g.next(), zeroCount: UInt64(g.below(1000)),
                                         positiveDeltas: p.map { _ in g.integer() }, negativeDeltas: n.map { _ in g.integer() })
            case .float(_, _, let p, let n):
                sample.counts = .float(countBits: g.floatBits(), zeroCountBits: g.floatBits(),
                                       positiveBits: p.map { _ in g.floatBits() }, negativeBits: n.map { _ in g.floatBits() })
            }
            samples.append(sample)
        }
        return Series(labels: Labels(sorting: [Label("__name__", "random_histogram"), Label("seed", "\(seed)")]), samples: [], histograms: samples)
    }

    @Test func randomHistogramsReadBackExactly() async throws {
        let all = (0..<300).map { Self.series(UInt64($0) &* 7919) }
        let (got, summary, out) = try await BlockWriterTests.writeAndRead(all, pieces: 5)
        defer { out.remove() }
        #expect(summary.samples == all.reduce(0) { $0 + $1.histograms.count })
        var mismatches = 0
        for series in all {
            let read = got[series.labels]?.histograms ?? []
            if read != series.histograms {
                mismatches += 1
                if mismatches <= 3, let i = zip(read, series.histograms).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
                    Issue.record("\(series.labels) sample \(i): wrote \(series.histograms[i]), read \(read[i])")
                } else if mismatches <= 3 {
                    Issue.record("\(series.labels): wrote \(series.histograms.count) samples, read \(read.count)")
                }
            }
        }
        #expect(mismatches == 0)
    }
}
