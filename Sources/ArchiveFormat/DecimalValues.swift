/// Exact decimal representation of doubles: `value == Double(mantissa) / 10^exponent`, bit for bit.
///
/// Division of two exactly representable doubles is correctly rounded by IEEE-754, so every reader on
/// every platform gets the same bits back; the encoder only chooses this form after checking it.
enum DecimalValues {
    /// 10^0 … 10^15, all exactly representable.
    static let powersOfTen: [Double] = (0...SegmentLayout.maxDecimalExponent).map { e in
        var p = 1.0
        for _ in 0..<e { p *= 10 }
        return p
    }

    static let maxMantissa = Double(1 << 53)

    /// The mantissa of `bits` at `exponent`, if the round trip is exact.
    @inline(__always)
    static func mantissa(_ bits: UInt64, exponent: Int) -> Int64? {
        let value = Double(bitPattern: bits)
        let scale = powersOfTen[exponent]
        let m = (value * scale).rounded()
        guard m.isFinite, abs(m) <= maxMantissa else { return nil }
        let integer = Int64(m)
        // Through Int64, so that -0.0 (which would come back as +0.0) is refused.
        guard (Double(integer) / scale).bitPattern == bits else { return nil }
        return integer
    }

    /// The smallest exponent at which every value round-trips, or nil (then the XOR form is used).
    static func commonExponent(_ samples: ArraySlice<Sample>) -> Int? {
        var exponent = 0
        for sample in samples {
            while mantissa(sample.valueBits, exponent: exponent) == nil {
                exponent += 1
                if exponent > SegmentLayout.maxDecimalExponent { return nil }
            }
        }
        // A value exact at a smaller exponent is exact at a larger one (same rational, same rounding),
        // unless its mantissa overflows 2^53: check the rest again at the final exponent.
        for sample in samples where mantissa(sample.valueBits, exponent: exponent) == nil { return nil }
        return exponent
    }
}

import PrometheusWire
