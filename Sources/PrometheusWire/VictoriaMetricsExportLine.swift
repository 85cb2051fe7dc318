/// One line of VictoriaMetrics' `/api/v1/export` JSON lines:
/// `{"metric":{"__name__":"up","job":"x"},"values":[1,0.5,null],"timestamps":[1700000000000,…]}`.
///
/// Parsed byte by byte, without a JSON library: the line is a fixed shape, and export throughput
/// depends on it. Keys may come in any order and whitespace is allowed between tokens. Label values
/// are JSON strings (every escape, `\uXXXX` surrogate pairs included). A value is a JSON number,
/// which VictoriaMetrics writes in the shortest form that reads back exactly (as plain digits, so
/// 1e300 comes as 301 digits), or one of the words it uses for special values: `null`, `NaN`,
/// `Inf`, `+Inf`, `-Inf`, `"Infinity"`, `"-Infinity"`, `"NaN"` (1.79 writes `null`, `+Inf` and `-Inf`;
/// later versions `"Infinity"`). VictoriaMetrics drops every NaN but Prometheus' staleness marker on
/// ingestion, so every `null` and NaN is read as the staleness marker `0x7ff0000000000002`.
public enum VictoriaMetricsExportLine {
    public struct Malformed: Error, CustomStringConvertible {
        public let description: String
    }

    /// The series a line holds, samples in the order given.
    public static func parse(_ line: ArraySlice<UInt8>) throws(Malformed) -> Series {
        var cursor = Cursor(bytes: line)
        var labels: [Label] = []
        var values: [UInt64] = []
        var timestamps: [Int64] = []
        var seen = (metric: false, values: false, timestamps: false)
        try cursor.expect(UInt8(ascii: "{"))
        repeat {
            let key = try cursor.string()
            try cursor.expect(UInt8(ascii: ":"))
            switch key {
            case Array("metric".utf8):
                seen.metric = true
                try cursor.expect(UInt8(ascii: "{"))
                if !cursor.take(UInt8(ascii: "}")) {
                    repeat {
                        let name = try cursor.string()
                        try cursor.expect(UInt8(ascii: ":"))
                        labels.append(Label(name: name, value: try cursor.string()))
                    } while cursor.take(UInt8(ascii: ","))
                    try cursor.expect(UInt8(ascii: "}"))
                }
            case Array("values".utf8):
                seen.values = true
                try cursor.array { cursor throws(Malformed) in values.append(try cursor.value()) }
            case Array("timestamps".utf8):
                seen.timestamps = true
                try cursor.array { cursor throws(Malformed) in timestamps.append(try cursor.integer()) }
            default:
                throw Malformed(description: "unexpected key \"\(String(decoding: key, as: UTF8.self))\"")
            }
        } while cursor.take(UInt8(ascii: ","))
        try cursor.expect(UInt8(ascii: "}"))
        guard cursor.atEnd else { throw Malformed(description: "bytes after the line's object") }
        guard seen.metric && seen.values && seen.timestamps else {
            throw Malformed(description: "a line without \"metric\", \"values\" and \"timestamps\"")
        }
        guard values.count == timestamps.count else {
            throw Malformed(description: "\(values.count) values but \(timestamps.count) timestamps")
        }
        let sorted = Labels(sorting: labels)
        guard Labels.isSortedAndUnique(sorted.labels) else { throw Malformed(description: "a label name given twice") }
        var samples: [Sample] = []
        samples.reserveCapacity(values.count)
        for (t, bits) in zip(timestamps, values) { samples.append(Sample(timestampMs: t, valueBits: bits)) }
        return Series(labels: sorted, samples: samples)
    }

    struct Cursor {
        let bytes: ArraySlice<UInt8>
        var index: Int

        init(bytes: ArraySlice<UInt8>) {
            self.bytes = bytes
            index = bytes.startIndex
        }

        var atEnd: Bool {
            mutating get {
                skipSpace()
                return index == bytes.endIndex
            }
        }

        static func isSpace(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 || byte == 13 || byte == 10 }

        mutating func skipSpace() {
            while index < bytes.endIndex, Self.isSpace(bytes[index]) { index += 1 }
        }

        func fail(_ what: String) -> Malformed {
            Malformed(description: "\(what) at byte \(index - bytes.startIndex)")
        }

        mutating func take(_ byte: UInt8) -> Bool {
            skipSpace()
            guard index < bytes.endIndex, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        mutating func expect(_ byte: UInt8) throws(Malformed) {
            guard take(byte) else { throw fail("expected \"\(Character(Unicode.Scalar(byte)))\"") }
        }

        /// `[ item, item, … ]`, possibly empty.
        mutating func array(_ item: (inout Cursor) throws(Malformed) -> Void) throws(Malformed) {
            try expect(UInt8(ascii: "["))
            if take(UInt8(ascii: "]")) { return }
            repeat { try item(&self) } while take(UInt8(ascii: ","))
            try expect(UInt8(ascii: "]"))
        }

        /// A JSON string's bytes (UTF-8), escapes decoded.
        mutating func string() throws(Malformed) -> [UInt8] {
            try expect(UInt8(ascii: "\""))
            var out: [UInt8] = []
            while index < bytes.endIndex {
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return out
                case UInt8(ascii: "\\"):
                    guard index < bytes.endIndex else { break }
                    let escape = bytes[index]
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                    case UInt8(ascii: "b"): out.append(8)
                    case UInt8(ascii: "f"): out.append(12)
                    case UInt8(ascii: "n"): out.append(10)
                    case UInt8(ascii: "r"): out.append(13)
                    case UInt8(ascii: "t"): out.append(9)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        if (0xD800..<0xDC00).contains(scalar) {
                            guard index + 1 < bytes.endIndex, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                                throw fail("a lone surrogate in a string")
                            }
                            index += 2
                            let low = try hex4()
                            guard (0xDC00..<0xE000).contains(low) else { throw fail("a lone surrogate in a string") }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let unicode = Unicode.Scalar(scalar) else { throw fail("a lone surrogate in a string") }
                        out += Array(String(Character(unicode)).utf8)
                    default:
                        throw fail("an unknown escape \\\(Character(Unicode.Scalar(escape)))")
                    }
                default:
                    out.append(byte)
                }
            }
            throw fail("a string that does not end")
        }

        mutating func hex4() throws(Malformed) -> UInt32 {
            guard index + 4 <= bytes.endIndex else { throw fail("a short \\u escape") }
            var value: UInt32 = 0
            for byte in bytes[index..<index + 4] {
                let digit: UInt8
                switch byte {
                case 48...57: digit = byte - 48
                case 65...70: digit = byte - 55
                case 97...102: digit = byte - 87
                default: throw fail("a bad \\u escape")
                }
                value = value << 4 | UInt32(digit)
            }
            index += 4
            return value
        }

        /// The bytes of a bare token: up to the next `,`, `]`, `}` or space.
        mutating func token() -> ArraySlice<UInt8> {
            skipSpace()
            let start = index
            while index < bytes.endIndex {
                let byte = bytes[index]
                if byte == 44 || byte == 93 || byte == 125 || Self.isSpace(byte) { break }
                index += 1
            }
            return bytes[start..<index]
        }

        /// A JSON integer within 64 bits (a timestamp), read digit by digit.
        mutating func integer() throws(Malformed) -> Int64 {
            let text = token()
            var digits = text[...]
            let negative = digits.first == UInt8(ascii: "-")
            if negative { digits = digits.dropFirst() }
            guard !digits.isEmpty else { throw fail("a timestamp that is not an integer") }
            var value: Int64 = 0
            for byte in digits {
                guard (48...57).contains(byte) else { throw fail("a timestamp that is not an integer") }
                let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(Int64(byte - 48))
                guard !overflow1 && !overflow2 else { throw fail("a timestamp beyond 64 bits") }
                value = sum
            }
            return negative ? -value : value
        }

        /// A sample value's bits.
        mutating func value() throws(Malformed) -> UInt64 {
            skipSpace()
            if index < bytes.endIndex, bytes[index] == UInt8(ascii: "\"") {
                switch String(decoding: try string(), as: UTF8.self) {
                case "Infinity", "+Infinity", "Inf", "+Inf": return Double.infinity.bitPattern
                case "-Infinity", "-Inf": return (-Double.infinity).bitPattern
                case "NaN": return Sample.staleNaNBits
                case let other: throw fail("an unexpected value \"\(other)\"")
                }
            }
            let text = token()
            if let bits = Self.fastDecimal(text) { return bits }
            switch String(decoding: text, as: UTF8.self) {
            case "null", "NaN": return Sample.staleNaNBits
            case "Inf", "+Inf": return Double.infinity.bitPattern
            case "-Inf": return (-Double.infinity).bitPattern
            case let number:
                // JSON numbers only: Swift's parser would also take "0x1p3" and "nan".
                guard let first = text.first, first == UInt8(ascii: "-") || (48...57).contains(first),
                      text.allSatisfy({ (48...57).contains($0) || [45, 43, 46, 101, 69].contains($0) }),
                      let value = Double(number) else {
                    throw fail("a value that is not a number (\(number.prefix(40)))")
                }
                return value.bitPattern
            }
        }

        /// Plain decimals of at most 15 significant digits and 22 decimals (most of what VictoriaMetrics
        /// writes) as one correctly rounded division of two exact doubles; nil for anything else, which
        /// goes to the full parser.
        static func fastDecimal(_ text: ArraySlice<UInt8>) -> UInt64? {
            var index = text.startIndex
            var negative = false
            if index < text.endIndex, text[index] == UInt8(ascii: "-") {
                negative = true
                index += 1
            }
            guard index < text.endIndex else { return nil }
            var mantissa: Int64 = 0
            var digits = 0
            var decimals = 0
            var afterPoint = false
            while index < text.endIndex {
                let byte = text[index]
                if byte == UInt8(ascii: ".") {
                    guard !afterPoint else { return nil }
                    afterPoint = true
                } else if (48...57).contains(byte) {
                    mantissa = mantissa * 10 + Int64(byte - 48)
                    if mantissa != 0 { digits += 1 }
                    if afterPoint { decimals += 1 }
                    guard digits <= 15, decimals <= 22 else { return nil }
                } else {
                    return nil
                }
                index += 1
            }
            guard text.last != UInt8(ascii: ".") else { return nil }
            let value = Double(mantissa) / powersOfTen[decimals]
            return (negative ? -value : value).bitPattern
        }

        /// 10^0 … 10^22, each exact as a double.
        static let powersOfTen: [Double] = (0...22).map { exponent in (0..<exponent).reduce(1.0) { value, _ in value * 10 } }
    }
}
