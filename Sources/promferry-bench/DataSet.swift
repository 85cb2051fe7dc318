import ArgumentParser
import PeerHarness
import PrometheusWire

/// The bench's data sets: random values (`SampleHistory`) and exporter-shaped history
/// (`ExporterHistory`), which judge the archive format on what real scrapes look like.
enum DataSet: String, CaseIterable, ExpressibleByArgument {
    case random
    case exporter

    func series(count: Int, startMs: Int64, endMs: Int64) -> [Series] {
        switch self {
        case .random: SampleHistory(seriesCount: count, startMs: startMs, endMs: endMs).series()
        case .exporter: ExporterHistory(seriesCount: count, startMs: startMs, endMs: endMs).series()
        }
    }

    static func parseList(_ text: String) throws -> [DataSet] {
        try text.split(separator: ",").map { name in
            guard let set = DataSet(rawValue: String(name)) else {
                throw ValidationError("--data-sets \(text): expected a list of \(allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return set
        }
    }
}
