/// A histogram of values as TensorBoard's HistogramProto holds it, over TensorFlow's default
/// bucket limits: bucket i counts the values v with bucketLimits[i − 1] ≤ v < bucketLimits[i].
/// As TensorFlow encodes it, each run of empty buckets is one empty bucket ending where the run ends,
/// so a few hundred weights give a short histogram however wide their range.
public struct Histogram: Sendable, Equatable {
    public var min: Double, max: Double, count: Double, sum: Double, sumOfSquares: Double
    public var bucketLimits: [Double]
    public var bucketCounts: [Double]

    /// TensorFlow's default limits (tensorflow/tsl/lib/histogram/histogram.cc): ±1e-12 growing by 10%
    /// up to ±1e20, then ±Double.greatestFiniteMagnitude, and 0 between the negative and positive sides;
    /// the same relative resolution at every scale, so small and large weights both show their shape.
    public static let defaultLimits: [Double] = {
        var positive: [Double] = []
        var v = 1.0e-12
        while v < 1.0e20 {
            positive.append(v)
            v *= 1.1
        }
        positive.append(.greatestFiniteMagnitude)
        return positive.reversed().map { -$0 } + [0] + positive
    }()

    public init(_ values: UnsafeBufferPointer<Float>) {
        let limits = Self.defaultLimits
        var counts = [Double](repeating: 0, count: limits.count)
        var low = Double.infinity, high = -Double.infinity, sum = 0.0, squares = 0.0
        limits.withUnsafeBufferPointer { limits in
            for v in values {
                let d = Double(v)
                low = Swift.min(low, d); high = Swift.max(high, d); sum += d; squares += d * d
                counts[Self.bucket(of: d, limits)] += 1
            }
        }
        if values.isEmpty { low = 0; high = 0 }
        self.min = low
        self.max = high
        count = Double(values.count)
        self.sum = sum
        sumOfSquares = squares
        (bucketLimits, bucketCounts) = Self.collapsingEmptyRuns(limits: limits, counts: counts)
    }

    /// The first limit above `value` (C++'s upper_bound), by bisection; the last bucket takes the rest.
    @inline(__always) static func bucket(of value: Double, _ limits: UnsafeBufferPointer<Double>) -> Int {
        var low = 0, high = limits.count - 1
        while low < high {
            let middle = (low + high) / 2
            if limits[middle] > value { high = middle } else { low = middle + 1 }
        }
        return low
    }

    /// TensorFlow's `Histogram::EncodeToProto` without zero buckets preserved.
    static func collapsingEmptyRuns(limits: [Double], counts: [Double]) -> ([Double], [Double]) {
        var outLimits: [Double] = [], outCounts: [Double] = []
        var i = 0
        while i < counts.count {
            var end = limits[i], count = counts[i]
            i += 1
            if count <= 0 {
                while i < counts.count && counts[i] <= 0 {
                    end = limits[i]; count = counts[i]
                    i += 1
                }
            }
            outLimits.append(end); outCounts.append(count)
        }
        return (outLimits, outCounts)
    }
}
