/// The inner loops of online mining, over one anchor's negative distances gathered contiguously,
/// eight lanes at a time. Batch-all runs its loop B·(K−1)·(B−K) times a step (≈ 3M at B = 320,
/// K = 32) and semi-hard its search B·(K−1) times over B−K negatives, so these avoid libm and
/// branches: the soft margin's exp and log1p are polynomials here, accurate to a few ulps.
enum MiningKernels {
    typealias Vector = SIMD8<Float>
    typealias Mask = SIMDMask<SIMD8<Int32>>

    struct Sums {
        /// Σ of the triplets' losses.
        var loss: Float = 0
        /// Σ of ∂loss/∂D_ap over the triplets (each negative's −∂loss/∂D_an went to its weight).
        var slope: Float = 0
        /// Active triplets: a non-zero hinge, or with a soft margin D_an < D_ap.
        var active = 0
    }

    /// Batch-all, hinge: max(0, D_ap − D_an + margin) over the negatives; adds 1 to the weight of each active one.
    static func hinge(positiveDistance dap: Float, margin: Float, negatives: UnsafePointer<Float>,
                      weights: UnsafeMutablePointer<Float>, count: Int) -> Sums {
        var lanes = HingeLanes(threshold: Vector(repeating: dap + margin))
        forEachRun(negatives, weights, count) { lanes.add($0, &$1, $2) }
        let active = lanes.active.sum()
        return Sums(loss: lanes.loss.sum(), slope: active, active: Int(active))
    }

    /// Batch-all, soft margin: softplus(D_ap − D_an) over the negatives; adds σ(D_ap − D_an) to each one's weight.
    static func softMargin(positiveDistance dap: Float, negatives: UnsafePointer<Float>,
                           weights: UnsafeMutablePointer<Float>, count: Int) -> Sums {
        var lanes = SoftMarginLanes(positive: Vector(repeating: dap))
        forEachRun(negatives, weights, count) { lanes.add($0, &$1, $2) }
        return Sums(loss: lanes.loss.sum(), slope: lanes.slope.sum(), active: Int(lanes.active.sum()))
    }

    // Accumulators in structs rather than variables captured by a closure: captured variables are
    // boxed on the heap and every access is checked, which cost more than the arithmetic.
    private struct HingeLanes {
        let threshold: Vector
        var loss = Vector(), active = Vector()

        @inline(__always)
        mutating func add(_ distances: Vector, _ weights: inout Vector, _ valid: Mask) {
            let violation = threshold - distances
            let on = (violation .> 0) .& valid
            loss += Vector().replacing(with: violation, where: on)
            let ones = Vector().replacing(with: 1, where: on)
            active += ones
            weights += ones
        }
    }

    private struct SoftMarginLanes {
        let positive: Vector
        var loss = Vector(), slope = Vector(), active = Vector()

        @inline(__always)
        mutating func add(_ distances: Vector, _ weights: inout Vector, _ valid: Mask) {
            let x = positive - distances
            let (value, derivative) = softplus(x)
            loss += Vector().replacing(with: value, where: valid)
            let kept = Vector().replacing(with: derivative, where: valid)
            slope += kept
            weights += kept
            active += Vector().replacing(with: 1, where: (x .> 0) .& valid)
        }
    }

    /// Calls `body` on each run of eight distances and their weights (written back), the last run
    /// zero-padded, with a mask of the real lanes.
    @inline(__always)
    private static func forEachRun(_ distances: UnsafePointer<Float>, _ weights: UnsafeMutablePointer<Float>, _ count: Int,
                                   _ body: (Vector, inout Vector, Mask) -> Void) {
        var k = 0
        while k + 8 <= count {
            var w = UnsafeRawPointer(weights + k).loadUnaligned(as: Vector.self)
            body(UnsafeRawPointer(distances + k).loadUnaligned(as: Vector.self), &w, Mask(repeating: true))
            UnsafeMutableRawPointer(weights + k).storeBytes(of: w, as: Vector.self)
            k += 8
        }
        let rest = count - k
        guard rest > 0 else { return }
        var d = Vector(), w = Vector()
        for lane in 0..<rest {
            d[lane] = distances[k + lane]
            w[lane] = weights[k + lane]
        }
        body(d, &w, SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7) .< SIMD8<Int32>(repeating: Int32(rest)))
        for lane in 0..<rest { weights[k + lane] = w[lane] }
    }

    /// Semi-hard: the position of the smallest distance greater than `dap` (the lowest position
    /// among equals), or nil when none is greater.
    static func nearestFarther(than dap: Float, negatives: UnsafePointer<Float>, count: Int) -> Int? {
        let bound = Vector(repeating: dap)
        var best = Vector(repeating: .infinity)
        var bestIndex = SIMD8<Int32>(repeating: -1)
        var index = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7)
        var k = 0
        while k < count {
            var d = Vector(repeating: .infinity)  // padding: never smaller than `best`
            if k + 8 <= count {
                d = UnsafeRawPointer(negatives + k).loadUnaligned(as: Vector.self)
            } else {
                for lane in 0..<(count - k) { d[lane] = negatives[k + lane] }
            }
            // Strictly smaller: a lane keeps its first position among equals.
            let take = (d .> bound) .& (d .< best)
            best = best.replacing(with: d, where: take)
            bestIndex = bestIndex.replacing(with: index, where: take)
            index &+= 8
            k += 8
        }
        let smallest = best.min()
        guard smallest < .infinity else { return nil }
        var chosen = Int32.max
        for lane in 0..<8 where best[lane] == smallest { chosen = min(chosen, bestIndex[lane]) }
        return Int(chosen)
    }

    /// softplus(x) = max(x, 0) + log1p(e) and σ(x), with e = exp(−|x|) ∈ (0, 1] so nothing overflows.
    /// (Comparisons and `replacing` rather than pointwiseMin/Max, which go lane by lane for NaN's sake.)
    @inline(__always)
    static func softplus(_ x: Vector) -> (value: Vector, slope: Vector) {
        let e = exponential(x.replacing(with: -x, where: x .> 0))
        // One division for both z = e / (2 + e) and r = 1 / (1 + e): it costs as much as the rest.
        let onePlus = 1 + e, twoPlus = 2 + e
        let q = 1 / (onePlus * twoPlus)
        let z = e * onePlus * q, r = twoPlus * q
        // log1p(e) = 2 atanh(z) with z ≤ 1/3: the odd series to z¹³ leaves < 2e-8 of it.
        let w = z * z
        var series = w * (1 / 13 as Float) + (1 / 11 as Float)
        series = series * w + (1 / 9 as Float)
        series = series * w + (1 / 7 as Float)
        series = series * w + (1 / 5 as Float)
        series = series * w + (1 / 3 as Float)
        series = series * w + (1 as Float)
        let value = Vector().replacing(with: x, where: x .> 0) + 2 * z * series
        return (value, r.replacing(with: e * r, where: x .< 0))
    }

    /// eᵗ for t ≤ 0 (Cephes' expf): t = n·ln2 + r with |r| ≤ ln2/2, a degree-7 polynomial for eʳ,
    /// 2ⁿ from the exponent bits. Below −87 it returns e⁻⁸⁷ ≈ 1.6e-38, as good as 0 here.
    @inline(__always)
    static func exponential(_ t: Vector) -> Vector {
        let x = t.replacing(with: -87, where: t .< -87)
        // Adding 1.5·2²³ rounds to an integer, which the low mantissa bits then hold.
        let magic = Vector(repeating: 12_582_912)
        let shifted = x * 1.442_695_04 + magic
        let n = shifted - magic
        let r = x - n * 0.693_359_375 + n * 2.121_944_4e-4
        var p = r * (1.987_569_15e-4 as Float) + (1.398_199_95e-3 as Float)
        p = p * r + (8.333_451_9e-3 as Float)
        p = p * r + (4.166_579_59e-2 as Float)
        p = p * r + (1.666_666_55e-1 as Float)
        p = p * r + (5.000_000_12e-1 as Float)
        p = p * (r * r) + r + (1 as Float)
        let exponent = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self)
        return p * unsafeBitCast((exponent &+ 127) &<< 23, to: Vector.self)
    }
}
