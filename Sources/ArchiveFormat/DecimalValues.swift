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

    /// The mantissa of `bits` at the exponent whose power of ten is `scale`, if the round trip is exact.
    @inline(__always)
    static func mantissa(_ bits: UInt64, scale: Double) -> Int64? {
        let value = Double(bitPattern: bits)
        let product = value * scale
        guard abs(product) <= maxMantissa else { return nil }  // also refuses NaN and ±Inf
        // Rounded half away from zero without a libm call: truncation, then the exact remainder.
        var integer = Int64(product)
        let remainder = product - Double(integer)
        if remainder >= 0.5 { integer += 1 } else if remainder <= -0.5 { integer -= 1 }
        // Through Int64, so that -0.0 (which would come back as +0.0) is refused.
        guard (Double(integer) / scale).bitPattern == bits else { return nil }
        return integer
    }

    /// How a record's values are stored: decimals at one exponent, with the values that have no exact
    /// decimal form (NaN and staleness markers, ±Inf, -0.0, doubles needing more than 15 decimals)
    /// kept as raw bits beside them.
    struct Plan: Equatable {
        let exponent: Int
        /// Positions (ascending, relative to the record's first sample) of the values kept as raw bits.
        let exceptions: [Int]
    }

    /// The smallest exponent at which every value but the exceptions round-trips, or nil when more than
    /// a quarter of the values would be exceptions (then the XOR form is smaller and is used).
    /// `mantissas` receives each sample's mantissa at that exponent (0 at the exceptions).
    ///
    /// One pass: each mantissa is kept as computed, and when a value needs a larger exponent every value
    /// before it is taken again at the new one (usually only the first few), so the result is exactly
    /// what computing every value at the final exponent gives. A value with no exact form at any
    /// exponent is an exception whatever the final exponent, which bounds the count early.
    static func plan(_ samples: ArraySlice<Sample>, mantissas: inout [Int64]) -> Plan? {
        let limit = samples.count / 4
        let powers = powersOfTen
        var exponent = 0
        var exceptions: [Int] = []
        mantissas.removeAll(keepingCapacity: true)
        for (position, sample) in samples.enumerated() {
            // A value equal to the one before has its mantissa at the same exponent (runs of constant
            // values are common: idle counters, `up`, limits); this spares the division that checks it.
            if position > 0, sample.valueBits == samples[samples.startIndex + position - 1].valueBits,
               exceptions.last != position - 1 {
                mantissas.append(mantissas[position - 1])
                continue
            }
            if let m = mantissa(sample.valueBits, scale: powers[exponent]) {
                mantissas.append(m)
                continue
            }
            var e = exponent + 1
            var found: Int64?
            while e <= SegmentLayout.maxDecimalExponent {
                found = mantissa(sample.valueBits, scale: powers[e])
                if found != nil { break }
                e += 1
            }
            guard let found else {
                // No exact decimal form at any exponent: raw bits, whatever the final exponent.
                mantissas.append(0)
                exceptions.append(position)
                if exceptions.count > limit { return nil }
                continue
            }
            exponent = e
            exceptions.removeAll(keepingCapacity: true)
            for earlier in 0..<position {
                if let m = mantissa(samples[samples.startIndex + earlier].valueBits, scale: powers[exponent]) {
                    mantissas[earlier] = m
                } else {
                    mantissas[earlier] = 0
                    exceptions.append(earlier)
                }
            }
            if exceptions.count > limit { return nil }
            mantissas.append(found)
        }
        return Plan(exponent: exponent, exceptions: exceptions)
    }
}

import PrometheusWire
