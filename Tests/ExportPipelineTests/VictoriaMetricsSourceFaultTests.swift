import ArchiveStore
@testable import ExportPipeline
import Foundation
import Logging
import PeerHarness
import PrometheusWire
import RemoteStorageClient
import Synchronization
import Testing
import TestSupport
import ArchiveFormat

/// An export from a VictoriaMetrics-like source whose replies break: a stream cut mid-line is read
/// again, a line larger than a read's share of --max-memory splits the slab, and an answer that is not
/// VictoriaMetrics' JSON lines stops the export naming it. Scripted, so each case is exact.
@Suite struct VictoriaMetricsSourceFaultTests {
    static let json = [("Content-Type", "application/stream+json; charset=utf-8")]

    /// Three series over the six hours of `rangeStart…rangeEnd` at 60 s, as export lines.
    static let series: [Series] = (0..<3).map { i in
        Series(labels: Labels(sorting: [Label("__name__", "vm_metric"), Label("i", "\(i)"), Label("note", "é \"q\" \\ \n")]),
               samples: stride(from: rangeStart, to: rangeEnd, by: 60_000).enumerated().map { n, t in
                   Sample(timestampMs: t, valueBits: n % 97 == 5 ? Sample.staleNaNBits : (Double(n) * 0.125 + Double(i)).bitPattern)
               })
    }

    /// The lines VictoriaMetrics would send for `[start, end]` (inclusive, in seconds as it takes them).
    static func lines(_ request: RecordedRequest, of series: [Series] = series) -> [UInt8] {
        let query = URLComponents(string: "http://x" + request.uri)!.queryItems!
        let start = Int64(Double(query.first { $0.name == "start" }!.value!)! * 1000)
        let end = Int64(Double(query.first { $0.name == "end" }!.value!)! * 1000)
        var out = ""
        for s in series {
            let kept = s.samples.filter { $0.timestampMs >= start && $0.timestampMs <= end }
            guard !kept.isEmpty else { continue }
            let metric = s.labels.labels.map { label -> String in
                let value = label.valueString.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                    .replacingOccurrences(of: "\n", with: "\\n")
                return "\"\(label.nameString)\":\"\(value)\""
            }.joined(separator: ",")
            let values = kept.map { $0.valueBits == Sample.staleNaNBits ? "null" : "\($0.value)" }.joined(separator: ",")
            out += "{\"metric\":{\(metric)},\"values\":[\(values)],\"timestamps\":[\(kept.map { String($0.timestampMs) }.joined(separator: ","))]}\n"
        }
        return Array(out.utf8)
    }

    func vmConfiguration(_ url: String, _ archive: String) -> ExportConfiguration {
        var c = configuration(url: url, archive: archive, attempts: 3)
        c.sourceKind = .victoriaMetrics
        return c
    }

    /// A scripted VictoriaMetrics: `script` sees the export requests (GET /api/v1/export), numbered from 0.
    func withSource(_ script: @escaping @Sendable (RecordedRequest, Int) -> ScriptedReply,
                    _ body: (VMSource, String) async throws -> Void) async throws {
        let counter = Mutex(0)
        let server = try await ScriptedHTTPServer { request, _ in
            guard request.method == "GET", request.uri.hasPrefix("/api/v1/export?") else { return .respond(status: 404, headers: [], body: []) }
            return script(request, counter.withLock { count in defer { count += 1 }; return count })
        }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        do { try await body(VMSource(url: server.baseURL + "/api/v1/export"), dir.path) } catch { try await server.shutdown(); throw error }
        try await server.shutdown()
    }

    struct VMSource {
        let url: String
        func export(_ configure: (String) throws -> ExportConfiguration) async throws -> ExportSummary {
            try await ExportPipeline(configuration: configure(url), logger: Logger(label: "test")).run()
        }
    }

    @Test func aStreamCutMidLineIsReadAgainAndNothingIsLost() async throws {
        try await withSource({ request, index in
            let body = Self.lines(request)
            // Every slab's first answer stops inside its second line.
            return index % 2 == 0 ? .truncate(status: 200, headers: Self.json, body: body, afterBytes: body.count / 2)
                                  : .respond(status: 200, headers: Self.json, body: body)
        }) { source, dir in
            let summary = try await source.export { self.vmConfiguration($0, dir + "/a") }
            #expect(summary.complete)
            #expect(summary.retries == 6)
            #expect(summary.responseType == "victoriametrics-export")
            var expected: SeriesMap = [:]
            for s in Self.series { expected[s.labels] = s.samples }
            #expect(try SeriesComparison.archiveContents(dir + "/a") == expected)
            let manifest = try ArchiveDirectory(root: dir + "/a").readManifest()
            #expect(manifest.source.kind == "victoriametrics")
        }
    }

    /// One series at 100 ms: its six-hour line is about 4 MB, over a read's 1 MiB share of a 65 MiB
    /// --max-memory; the slab is read again in halves until each line fits.
    @Test func aLineOverTheReadsShareOfMemorySplitsTheSlab() async throws {
        let dense = Series(labels: Labels(sorting: [Label("__name__", "dense")]),
                           samples: stride(from: rangeStart, to: rangeEnd, by: 100).map { Sample(timestampMs: $0, value: Double($0 % 1000)) })
        try await withSource({ request, _ in .respond(status: 200, headers: Self.json, body: Self.lines(request, of: [dense])) }) { source, dir in
            let summary = try await source.export { url in
                var c = self.vmConfiguration(url, dir + "/a")
                c.slabWidthMs = 6 * hour
                c.maxSlabWidthMs = 6 * hour
                c.concurrency = 1
                c.maxMemoryBytes = 65 << 20
                #expect(c.readBudgetBytes == 1 << 20)
                return c
            }
            #expect(summary.complete)
            #expect(summary.slabSplits >= 3)
            #expect(try SeriesComparison.archiveContents(dir + "/a") == [dense.labels: dense.samples])
        }
    }

    @Test func anAnswerThatIsNotJSONLinesIsNamed() async throws {
        try await withSource({ _, _ in
            .respond(status: 200, headers: Self.json, body: Array("{\"metric\":{\"a\":\"b\"},\"values\":[1,x],\"timestamps\":[1,2]}\n".utf8))
        }) { source, dir in
            let error = await #expect(throws: (any Error).self) { try await source.export { self.vmConfiguration($0, dir + "/a") } }
            let message = "\(error.map { "\($0)" } ?? "")"
            #expect(message.contains("an export line is not what VictoriaMetrics writes"), "\(message)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/a/manifest.json"))
        }
    }
}
