import Foundation
public import PrometheusWire

/// Series as an OpenMetrics file for `promtool tsdb create-blocks-from openmetrics`.
public enum OpenMetricsFile {
    public static func write(_ series: [Series], to path: String) throws {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        // Families must not interleave: group series by metric name.
        let grouped = Dictionary(grouping: series, by: { $0.labels.metricName ?? "" })
        for name in grouped.keys.sorted() {
            var text = ""
            for series in grouped[name]! {
                let prefix = OpenMetricsText.linePrefix(series.labels)
                for sample in series.samples {
                    text += prefix + OpenMetricsText.number(sample.value) + " " + OpenMetricsText.seconds(sample.timestampMs) + "\n"
                }
                if text.utf8.count > 1 << 20 { handle.write(Data(text.utf8)); text = "" }
            }
            handle.write(Data(text.utf8))
        }
        handle.write(Data("# EOF\n".utf8))
    }
}
