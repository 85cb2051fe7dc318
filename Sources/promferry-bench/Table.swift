import CommandLineSupport
import Foundation

/// The benchmark's printed table (Markdown, so that it can go straight into the README).
final class Table {
    private(set) var text = ""

    func note(_ line: String) { text += line + "\n" }

    private func row(_ cells: [String]) { text += "| " + cells.joined(separator: " | ") + " |\n" }
    private func header(_ cells: [String]) {
        text += "\n"
        row(cells)
        row(cells.map { _ in "---" })
    }

    static func rate(_ samples: Int, _ seconds: Double) -> String {
        seconds > 0 ? String(format: "%.2f M/s", Double(samples) / seconds / 1e6) : "–"
    }
    static func ratio(_ a: Double, _ b: Double) -> String { b > 0 ? String(format: "%.2f×", a / b) : "–" }
    static func nanos(_ seconds: Double, _ samples: Int) -> String { samples > 0 && seconds > 0 ? String(format: "%.0f", seconds * 1e9 / Double(samples)) : "–" }
    static func mib(_ bytes: Int) -> String { String(format: "%.0f MiB", Double(bytes) / 1_048_576) }
    static func perSample(_ bytes: Int, _ samples: Int) -> String {
        samples > 0 ? String(format: "%.3f", Double(bytes) / Double(samples)) : "–"
    }

    func sizes(_ results: [SizeResult], limit: Int) {
        header(["measure"] + results.map { "\($0.label): \(String(format: "%.2f", Double($0.samples) / 1e6)) M samples" })
        func line(_ name: String, _ value: (SizeResult) -> String) { row([name] + results.map(value)) }
        line("export, samples/s") { Self.rate($0.samples, $0.export?.wallSeconds ?? 0) }
        line("floor: same reads, fetched and discarded") { Self.rate($0.samples, $0.exportFloorSeconds) }
        line("export ÷ floor") { Self.ratio($0.exportFloorSeconds, $0.export?.wallSeconds ?? 0) }
        line("prom-export CPU, ns/sample") { Self.nanos($0.export?.cpuSeconds ?? 0, $0.samples) }
        line("import → VictoriaMetrics, samples/s") { Self.rate($0.samples, $0.importVictoria?.wallSeconds ?? 0) }
        line("floor: pre-encoded requests, only POSTed") { Self.rate($0.samples, $0.victoriaFloorSeconds) }
        line("import ÷ floor (VictoriaMetrics)") { Self.ratio($0.victoriaFloorSeconds, $0.importVictoria?.wallSeconds ?? 0) }
        line("CPU ns/sample: prom-import + VictoriaMetrics (floor: VictoriaMetrics)") { r in
            let tool = Self.nanos(r.importVictoria?.cpuSeconds ?? 0, r.samples)
            return "\(tool) + \(Self.nanos(r.victoriaImportCPUSeconds, r.samples)) (\(Self.nanos(r.victoriaFloorCPUSeconds, r.samples)))"
        }
        line("import → Prometheus, samples/s") { Self.rate($0.samples, $0.importPrometheus?.wallSeconds ?? 0) }
        line("floor: pre-encoded requests, only POSTed") { Self.rate($0.samples, $0.prometheusFloorSeconds) }
        line("import ÷ floor (Prometheus)") { Self.ratio($0.prometheusFloorSeconds, $0.importPrometheus?.wallSeconds ?? 0) }
        line("export + import --follow → VictoriaMetrics, together") { r in
            r.followSeconds.map { Self.rate(r.samples, $0) + " (" + Self.ratio($0, max(r.export?.wallSeconds ?? 0, r.importVictoria?.wallSeconds ?? 0)) + " the longer alone)" } ?? "–"
        }
        line("archive as exported, bytes/sample") { Self.perSample($0.archiveBytes, $0.samples) }
        line("archive after prom-archive compact, bytes/sample (imported from)") { Self.perSample($0.compactedBytes, $0.samples) }
        line("prom-archive compact, samples/s (peak RSS)") { r in
            r.compact.map { Self.rate(r.samples, $0.wallSeconds) + " (" + Self.mib($0.peakRSSBytes) + ")" } ?? "–"
        }
        line("Prometheus TSDB blocks, bytes/sample") { Self.perSample($0.tsdbBytes, $0.samples) }
        line("VictoriaMetrics on disk after import and shutdown, bytes/sample") { Self.perSample($0.victoriaBytes, $0.samples) }
        line("prom-export peak RSS (limit \(Self.mib(limit)))") { Self.mib($0.export?.peakRSSBytes ?? 0) }
        line("prom-import peak RSS → VictoriaMetrics") { Self.mib($0.importVictoria?.peakRSSBytes ?? 0) }
        line("prom-import peak RSS → Prometheus") { r in r.importPrometheus.map { Self.mib($0.peakRSSBytes) } ?? "–" }
    }

    func highCardinality(_ runs: [(String, MeasuredRun, Int)], limit: Int) {
        header(["high cardinality, one 30-minute slab", "samples/s", "peak RSS", "within --max-memory + 10%"])
        for (name, run, samples) in runs {
            row([name, Self.rate(samples, run.wallSeconds), Self.mib(run.peakRSSBytes),
                 Double(run.peakRSSBytes) <= Double(limit) * 1.1 ? "yes" : "NO"])
        }
    }

    func codecs(_ results: [CodecBenchmarks.Result], data: DataSet, samples: Int) {
        header(["codec, \(data.rawValue) data (\(samples) samples, in process)", "ns/sample", "note"])
        for result in results { row([result.name, String(format: "%.1f", result.nanosecondsPerSample), result.note]) }
    }
}
