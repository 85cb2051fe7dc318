import ArchiveStore
import Foundation
import PeerHarness
import ArchiveFormat

/// A/B of two builds of the tools on the same source and machine, alternating so that the machine's
/// drift falls on both: the evidence that a change keeps export and import throughput.
extension PromferryBench {
    func abRun(a: String, rounds: Int, size: (Int, Int), data: DataSet, workspace: TemporaryDirectory) async throws {
        let (startMs, endMs) = recentRange(minutes: size.1 * 60)
        let dir = workspace.path + "/ab"
        let source = try await seededSource(series: size.0, hours: size.1, dir: dir, data: data)
        defer { source.stop() }
        struct Figures { var exportRate: [Double] = [], exportNanos: [Double] = [], importRate: [Double] = [], importNanos: [Double] = [] }
        var figures = ["A": Figures(), "B": Figures()]
        print("A: \(a)\nB: \(tools)\n\(data.rawValue) data, \(size.0) series × \(size.1) h\n")
        print("| round | build | export samples/s | prom-export CPU ns/sample | import → VictoriaMetrics samples/s | prom-import CPU ns/sample |")
        print("| --- | --- | --- | --- | --- | --- |")
        for round in 0..<rounds {
            for build in round % 2 == 0 ? ["A", "B"] : ["B", "A"] {
                let bin = build == "A" ? a : tools
                let archive = dir + "/archive-\(round)-\(build)"
                progress("round \(round + 1): \(build) exports")
                let export = try MeasuredRun.run(bin + "/prom-export", [
                    "--source-url", source.readURL, "--archive", archive, "--start", "\(startMs)", "--end", "\(endMs)", "--quiet",
                    "--concurrency", "\(exportConcurrency)", "--max-memory", maxMemory], logPath: dir + "/export-\(round)-\(build).log")
                let samples = try ArchiveDirectory(root: archive).readManifest().totalSamples
                progress("round \(round + 1): \(build) imports into a fresh VictoriaMetrics")
                let victoria = try await VictoriaMetricsServer.start()
                defer { victoria.stop() }
                let imported = try MeasuredRun.run(bin + "/prom-import", [
                    "--archive", archive, "--target-url", victoria.writeURL, "--quiet", "--concurrency", "\(importConcurrency)",
                    "--max-memory", maxMemory, "--state", dir + "/state-\(round)-\(build)"], logPath: dir + "/import-\(round)-\(build).log")
                let n = Double(samples)
                figures[build]!.exportRate.append(n / export.wallSeconds)
                figures[build]!.exportNanos.append(export.cpuSeconds * 1e9 / n)
                figures[build]!.importRate.append(n / imported.wallSeconds)
                figures[build]!.importNanos.append(imported.cpuSeconds * 1e9 / n)
                print("| \(round + 1) | \(build) | \(Table.rate(samples, export.wallSeconds)) | \(Table.nanos(export.cpuSeconds, samples)) | "
                    + "\(Table.rate(samples, imported.wallSeconds)) | \(Table.nanos(imported.cpuSeconds, samples)) |")
                try? FileManager.default.removeItem(atPath: archive)
            }
        }
        func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(max(values.count, 1)) }
        for build in ["A", "B"] {
            let f = figures[build]!
            print(String(format: "| mean | %@ | %.2f M/s | %.0f | %.2f M/s | %.0f |", build, mean(f.exportRate) / 1e6, mean(f.exportNanos),
                         mean(f.importRate) / 1e6, mean(f.importNanos)))
        }
        let (fa, fb) = (figures["A"]!, figures["B"]!)
        print(String(format: "\nB ÷ A: export %.2f× samples/s, %.2f× CPU; import %.2f× samples/s, %.2f× CPU",
                     mean(fb.exportRate) / mean(fa.exportRate), mean(fb.exportNanos) / mean(fa.exportNanos),
                     mean(fb.importRate) / mean(fa.importRate), mean(fb.importNanos) / mean(fa.importNanos)))
    }
}
