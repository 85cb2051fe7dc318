/// The upper bounds of native-histogram buckets, as the native-histogram data model defines them.
///
/// Exponential schemas (−4…8): positive bucket `i` spans (b(i−1), b(i)] with b(i) = 2^(i·2^−schema);
/// negative bucket `i` mirrors it, [−b(i), −b(i−1)). Every b(i) here is the double nearest to that
/// real number (correctly rounded), computed in double-double arithmetic, so it is the same on every
/// platform. As Prometheus does, the bound that would be 2^1024 is the largest finite double (the
/// bucket above it counts ±Inf observations), larger ones are +Inf and tiny ones round to 0.
/// Custom-bucket schema (−53): bucket `i` spans (c[i−1], c[i]], the last one (c[n−1], +Inf].
///
/// Prometheus and client_golang look bounds up in a table whose entries lie 1–5 ulps below the
/// correctly rounded values at 341 of its 511 positions (measured against 60-digit decimal
/// arithmetic); an observation closer to a bound than that may sit in the neighbouring classic bucket.
public enum NativeBucketBounds {
    /// A bound that cannot be given.
    public enum Failure: Error, Equatable {
        /// The schema is neither exponential (−4…8) nor custom (−53).
        case unknownSchema(Int32)
        /// A custom-bucket histogram names a bucket beyond its custom values.
        case beyondCustomValues(index: Int64, count: Int)
    }

    public static let exponentialSchemas: ClosedRange<Int32> = -4...8

    /// The upper bound of positive bucket `index`. For a negative bucket `index`, the bucket's upper
    /// edge is `-upperBound(index - 1)`.
    public static func upperBound(index: Int64, schema: Int32, customValues: [Double] = []) throws(Failure) -> Double {
        if schema == HistogramSample.customBucketsSchema {
            if index == Int64(customValues.count) { return .infinity }
            if index == -1 { return -.infinity }
            guard index >= 0, index < Int64(customValues.count) else { throw .beyondCustomValues(index: index, count: customValues.count) }
            return customValues[Int(index)]
        }
        guard exponentialSchemas.contains(schema) else { throw .unknownSchema(schema) }
        if schema <= 0 {
            let (exponent, overflow) = index.multipliedReportingOverflow(by: Int64(1) << -schema)
            if overflow { return index > 0 ? .infinity : 0 }
            return powerOfTwo(exponent, times: 1)
        }
        let fraction = Int(index & ((1 << schema) - 1))
        return powerOfTwo(index >> schema, times: roots[Int(schema)][fraction])
    }

    /// `significand · 2^exponent` for a significand in [1, 2), with 2^1024 as the largest finite double.
    static func powerOfTwo(_ exponent: Int64, times significand: Double) -> Double {
        if exponent == 1024 && significand == 1 { return .greatestFiniteMagnitude }
        if exponent > 1024 { return .infinity }
        if exponent < -1100 { return 0 }
        return Double(sign: .plus, exponent: Int(exponent), significand: significand)
    }

    /// `roots[s][j]` = 2^(j/2^s), correctly rounded, for s in 0…8 and j < 2^s.
    static let roots: [[Double]] = (0...8).map { schema in
        (0..<(1 << schema)).map { exactRoot(schema: schema, fraction: $0).rounded }
    }

    /// 2^(fraction/2^schema) in double-double: the product of 2^(1/2^k) over the set bits of `fraction`,
    /// each 2^(1/2^k) found by k square roots of 2. Good to about 2^−100, far below a double's half ulp.
    static func exactRoot(schema: Int, fraction: Int) -> DoubleDouble {
        var root = DoubleDouble(hi: 2, lo: 0)
        var product = DoubleDouble(hi: 1, lo: 0)
        for k in stride(from: 1, through: schema, by: 1) {
            root = root.squareRoot()
            // 2^(1/2^k) stands for bit (schema − k) of `fraction`.
            if fraction & (1 << (schema - k)) != 0 { product = product * root }
        }
        return product
    }
}

/// An unevaluated sum hi + lo of two doubles with |lo| ≤ ulp(hi)/2: about 106 bits of precision.
struct DoubleDouble {
    var hi: Double
    var lo: Double

    /// The nearest double to hi + lo (which is hi, as the pair is kept normalised).
    var rounded: Double { hi + lo }

    static func normalised(_ a: Double, _ b: Double) -> DoubleDouble {
        let sum = a + b
        return DoubleDouble(hi: sum, lo: b - (sum - a))
    }

    static func * (x: DoubleDouble, y: DoubleDouble) -> DoubleDouble {
        let product = x.hi * y.hi
        // The product's rounding error, exactly, by a fused multiply-add.
        let error = (-product).addingProduct(x.hi, y.hi) + (x.hi * y.lo + x.lo * y.hi)
        return normalised(product, error)
    }

    /// One Newton step from the double square root: s + (x − s²)/(2s), the residual taken exactly.
    func squareRoot() -> DoubleDouble {
        let s = hi.squareRoot()
        let square = s * s
        let squareError = (-square).addingProduct(s, s)
        let residual = ((hi - square) - squareError) + lo
        return Self.normalised(s, residual / (2 * s))
    }
}
