import FoundationEssentials
import CommandLineSupport
import ImportPipeline
import PrometheusWire

/// Shows import progress: percent of the archive, samples sent, rate, retries, rejections, ETA.
final class ImportProgressDisplay: ImportProgress {
    let line = ProgressLine(tool: "prom-import")

    init() {}

    func update(_ state: ImportProgressState) { line.draw { Self.line(state) } }
    func retrying(attempt: Int, delaySeconds: Double, reason: String) {
        note(cFormat("retry %d in %.1fs: ", attempt, delaySeconds) + reason)
    }
    func rejected(series: Labels, sample: Sample, reason: String) {
        note("refused by the target: \(series) @\(sample.timestampMs): \(reason)")
    }
    func note(_ message: String) { line.note(message) }
    func finish() { line.finish() }

    static func line(_ p: ImportProgressState) -> String {
        let rate = p.elapsedSeconds > 0 ? Double(p.samplesSent) / p.elapsedSeconds : 0
        var parts = [cFormat("%5.1f%%", p.fractionDone * 100),
                     "\(ExportProgressDisplay.count(p.samplesSent)) samples sent",
                     "\(ExportProgressDisplay.count(Int(rate)))/s"]
        if p.retries > 0 { parts.append("\(p.retries) retries") }
        if p.samplesRejected > 0 { parts.append("\(p.samplesRejected) refused") }
        let doneThisRun = p.samplesRead - p.resumedSamples
        if p.elapsedSeconds > 2, doneThisRun > 0, p.samplesRead < p.archiveSamples {
            let eta = p.elapsedSeconds / Double(doneThisRun) * Double(p.archiveSamples - p.samplesRead)
            parts.append("ETA " + ExportProgressDisplay.duration(Int64(eta * 1000)))
        }
        return parts.joined(separator: "  ")
    }
}
