/// How far two float32 computations of the same network may drift apart when they only sum in
/// different orders (oneDNN's kernels block and split their reductions differently on every
/// instruction set, and differently from the reference layers).
///
/// Each rounding of a float32 sum has a relative error of at most ε = 2⁻²³; over a reduction of
/// n terms these errors add like a random walk, so the sum differs from the exact one by about
/// ε·√n relative to the magnitude of its terms. A network chains `depth` such reductions (forward,
/// then the same number backward), and each passes its input's error on. The bound is
/// `safety · ε · √n · depth` relative to the norm of the compared tensor, with n the longest
/// reduction of the network (a convolution's C·k·k, or a weight gradient's or batch norm's
/// N·H·W). safety 8 covers the random walk's tail and the ReLU and max-pool ties that rounding
/// may break either way. A layout bug (a channel or a block read from the wrong place) moves
/// results by a good fraction of their norm, thousands of times this bound.
public enum Float32Tolerance {
    public static let epsilon = Double(Float.ulpOfOne)

    public static func relative(longestReduction n: Int, depth: Int, safety: Double = 8) -> Double {
        safety * epsilon * Double(n).squareRoot() * Double(depth)
    }

    /// ‖x − y‖ / ‖x‖ (‖x‖ floored at 1e-6 so an all-zero tensor compares absolutely).
    public static func relativeDifference(_ x: [Float], _ y: [Float]) -> Double {
        guard x.count == y.count else { return .infinity }
        let difference = zip(x, y).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }.squareRoot()
        let norm = x.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        return difference / max(norm, 1e-6)
    }
}
