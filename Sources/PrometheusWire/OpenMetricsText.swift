import FoundationEssentials

/// Pieces of the OpenMetrics text format, as `promtool tsdb create-blocks-from openmetrics` reads it.
public enum OpenMetricsText {
    /// A label value with `\`, `"` and newline escaped.
    public static func escape(_ value: String) -> String {
        var escaped = ""
        escaped.unicodeScalars.reserveCapacity(value.unicodeScalars.count)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    /// The shortest text that parses back to the same double (Swift's description round-trips);
    /// NaN, +Inf and -Inf as OpenMetrics writes them.
    public static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value == .infinity { return "+Inf" }
        if value == -.infinity { return "-Inf" }
        return "\(value)"
    }

    /// A float as Prometheus writes `le` and `quantile` label values (`labels.FormatOpenMetricsFloat`):
    /// Go's shortest `%g` (plain for decimal exponents −4…5, else `d.ddde±dd`), with `.0` appended when
    /// that has neither a point nor an exponent; ±0 as `0.0`, and `NaN`, `+Inf`, `-Inf`.
    public static func labelFloat(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value == .infinity { return "+Inf" }
        if value == -.infinity { return "-Inf" }
        if value == 0 { return "0.0" }
        let (digits, pointPosition) = shortestDigits(value.magnitude)
        let sign = value < 0 ? "-" : ""
        let exponent = pointPosition - 1
        if exponent < -4 || exponent >= 6 {
            let mantissa = digits.count == 1 ? digits : digits.prefix(1) + "." + digits.dropFirst()
            let magnitude = String(exponent.magnitude)
            return sign + mantissa + (exponent < 0 ? "e-" : "e+") + (magnitude.count < 2 ? "0" : "") + magnitude
        }
        var text: String
        if pointPosition <= 0 {
            text = "0." + String(repeating: "0", count: -pointPosition) + digits
        } else if pointPosition >= digits.count {
            text = digits + String(repeating: "0", count: pointPosition - digits.count)
        } else {
            text = digits.prefix(pointPosition) + "." + digits.dropFirst(pointPosition)
        }
        if !text.contains(".") { text += ".0" }
        return sign + text
    }

    /// The fewest significant decimal digits that read back as `value` (finite, positive), and where
    /// the decimal point goes: value ≈ 0.d₁d₂… × 10^pointPosition. Each length is tried with a correctly
    /// rounded conversion, so a halfway case that reads back by ties-to-even counts, as in Go.
    static func shortestDigits(_ value: Double) -> (digits: String, pointPosition: Int) {
        func scientific(_ precision: Int) -> String { cFormat("%.\(precision - 1)e", value) }
        // 17 significant digits always read back.
        let text = (1...16).lazy.map(scientific).first { Double($0) == value } ?? scientific(17)
        let parts = text.split(separator: "e")
        var digits = Substring(parts[0].replacing(".", with: ""))
        while digits.count > 1, digits.last == "0" { digits = digits.dropLast() }
        return (String(digits), (Int(parts[1]) ?? 0) + 1)
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
