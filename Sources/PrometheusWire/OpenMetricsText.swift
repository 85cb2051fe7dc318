/// Pieces of the OpenMetrics text format, as `promtool tsdb create-blocks-from openmetrics` reads it.
public enum OpenMetricsText {
    /// A label value with `\`, `"` and newline escaped.
    public static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    /// The shortest text that parses back to the same double (Swift's description round-trips);
    /// NaN, +Inf and -Inf as OpenMetrics writes them.
    public static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value == .infinity { return "+Inf" }
        if value == -.infinity { return "-Inf" }
        return "\(value)"
    }

    /// Milliseconds as OpenMetrics seconds with up to three decimals.
    public static func seconds(_ ms: Int64) -> String {
        let sign = ms < 0 ? "-" : ""
        let magnitude = ms.magnitude
        let fraction = String(magnitude % 1000)
        return magnitude % 1000 == 0 ? "\(sign)\(magnitude / 1000)"
            : "\(sign)\(magnitude / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    /// One sample line: `name{labels} value seconds`.
    public static func linePrefix(_ labels: Labels) -> String {
        let name = labels.metricName ?? ""
        let rest = labels.labels.filter { $0.nameString != "__name__" }
            .map { "\($0.nameString)=\"\(escape($0.valueString))\"" }.joined(separator: ",")
        return rest.isEmpty ? name + " " : "\(name){\(rest)} "
    }
}
