import Foundation
import PrometheusWire

/// `--regex`: the label matcher that ships (`LabelRegex`: literal shapes by hand, the rest on the
/// standard library's `Regex`) against the one it replaced (Foundation's `NSRegularExpression`,
/// anchored `^(?:re)$` with dot-all), on the label values of exporter-shaped series and selectors
/// of the kinds operators write. Both must agree on every value; the table gives ns per match,
/// each matcher timed in alternating rounds in one run.
extension PromferryBench {
    static let regexSelectors: [(label: String, pattern: String)] = [
        ("__name__", "node_cpu_seconds_total|node_memory_MemAvailable_bytes|up"),
        ("job", "node|api|prometheus"),
        ("__name__", "http_.*"),
        ("__name__", ".*_total"),
        ("__name__", ".*_bucket"),
        ("__name__", ".*memory.*"),
        ("__name__", "http_.*_seconds_bucket"),
        ("instance", "10\\.4\\.1.*"),
        ("instance", ".*\\.prod\\.internal:9100"),
        ("__name__", "node_(cpu|memory)_.*"),
        ("instance", "10\\.4\\.[0-9]+\\.[0-9]+:8080"),
        ("handler", "/api/v[12]/.*"),
        ("code", "5.."),
        ("le", "0\\.(1|5)|\\+Inf"),
        ("__name__", "(?i)NODE_.*"),
    ]

    func regexBench(series count: Int, rounds: Int = 5) throws {
        let series = DataSet.exporter.series(count: count, startMs: 0, endMs: 60_000)
        var values: [String: [String]] = [:]
        for one in series { for label in one.labels.labels { values[label.nameString, default: []].append(label.valueString) } }
        print("Label regex matching: \(series.count) exporter-shaped series; ns per match, best of \(rounds) alternating rounds")
        print("| label | pattern | values | matches | NSRegularExpression | LabelRegex | ratio | LabelRegex path |")
        print("|---|---|---:|---:|---:|---:|---:|---|")
        var totalOld = 0.0, totalNew = 0.0
        for (label, pattern) in Self.regexSelectors {
            let inputs = values[label] ?? []
            guard !inputs.isEmpty else { continue }
            let old = try NSRegularExpression(pattern: "^(?:\(pattern))$", options: [.dotMatchesLineSeparators])
            let new = try LabelRegex(pattern)
            let oldMatches = inputs.filter { old.firstMatch(in: $0, range: NSRange($0.startIndex..., in: $0)) != nil }.count
            let newMatches = inputs.filter(new.matches).count
            guard oldMatches == newMatches else {
                throw BenchError("\(label)=~\"\(pattern)\": NSRegularExpression matches \(oldMatches) values, LabelRegex \(newMatches)")
            }
            var bestOld = Double.infinity, bestNew = Double.infinity
            let repeats = max(1, 200_000 / inputs.count)
            for _ in 0..<rounds {
                bestOld = min(bestOld, Self.nanosecondsPerMatch(inputs, repeats) { old.firstMatch(in: $0, range: NSRange($0.startIndex..., in: $0)) != nil })
                bestNew = min(bestNew, Self.nanosecondsPerMatch(inputs, repeats) { new.matches($0) })
            }
            totalOld += bestOld
            totalNew += bestNew
            print("| \(label) | `\(pattern)` | \(inputs.count) | \(newMatches) | \(String(format: "%.0f", bestOld)) | "
                  + "\(String(format: "%.0f", bestNew)) | \(String(format: "%.2f×", bestOld / bestNew)) | \(new.path) |")
        }
        print(String(format: "Mean over the selectors: NSRegularExpression %.0f ns, LabelRegex %.0f ns (%.2f× faster)",
                     totalOld / Double(Self.regexSelectors.count), totalNew / Double(Self.regexSelectors.count), totalOld / totalNew))
    }

    static func nanosecondsPerMatch(_ inputs: [String], _ repeats: Int, _ match: (String) -> Bool) -> Double {
        var hits = 0
        let started = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<repeats { for value in inputs where match(value) { hits += 1 } }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started)
        precondition(hits >= 0)
        return elapsed / Double(repeats * inputs.count)
    }
}
