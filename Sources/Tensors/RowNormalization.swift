/// Scaling rows to unit length: the one rule every part of Akin uses (the network's L2Normalize,
/// the losses, embedding, gallery vectors and queries, the pixel baseline).
public enum RowNormalization {
    /// Added to the squared norm so a zero row divides by 1e-6 instead of 0 (it stays zero) and
    /// the backward pass stays finite.
    public static let epsilon: Float = 1e-12

    /// y_r = x_r / √(x_r·x_r + ε) for each of `rows` rows of `columns` values; `x` and `y` may be
    /// the same memory. Returns nothing; each row's norm goes to `norms` when given (for a backward
    /// pass: ∂x = (∂y − y (y·∂y)) / norm).
    public static func normalize(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, rows: Int, columns: Int,
                                 norms: UnsafeMutablePointer<Float>? = nil) {
        for r in 0..<rows {
            let source = x + r * columns, target = y + r * columns
            let squared = Elementwise.dot(source, source, count: columns)
            if squared.isNaN {
                // A NaN stays visible (training stops on it) instead of being scaled away.
                for j in 0..<columns { target[j] = .nan }
                norms?[r] = .nan
                continue
            }
            guard squared.isFinite, squared >= 1e-30 else {
                // Components past about 1.8e19 overflow the squared norm, and below about 1e-15 they
                // underflow it: scale by the largest first.
                normalizeScaled(source, into: target, columns: columns, norm: norms.map { $0 + r })
                continue
            }
            let norm = (squared + epsilon).squareRoot()
            norms?[r] = norm
            for j in 0..<columns { target[j] = source[j] / norm }
        }
    }

    /// One row whose squared norm overflows or underflows Float: x / max|x| first, then to unit
    /// length. A zero row stays zero (its norm taken as √ε); a row holding an infinity or NaN gives
    /// NaN, as its norm is not a number.
    private static func normalizeScaled(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, columns: Int,
                                       norm: UnsafeMutablePointer<Float>?) {
        var largest: Float = 0
        for j in 0..<columns { largest = max(largest, abs(x[j])) }
        guard largest > 0 else {
            for j in 0..<columns { y[j] = 0 }
            norm?.pointee = epsilon.squareRoot()
            return
        }
        guard largest.isFinite else {
            for j in 0..<columns { y[j] = .nan }
            norm?.pointee = .nan
            return
        }
        var squared: Float = 0
        for j in 0..<columns { let v = x[j] / largest; squared += v * v }
        let scaled = squared.squareRoot()
        norm?.pointee = scaled * largest
        for j in 0..<columns { y[j] = (x[j] / largest) / scaled }
    }

    /// In place, on every row of a [N, D] tensor.
    public static func normalize(_ tensor: Tensor) {
        let rows = tensor.shape.first ?? 0, columns = rows == 0 ? 0 : tensor.count / rows
        normalize(tensor.pointer, into: tensor.pointer, rows: rows, columns: columns)
    }

    /// The backward pass of `normalize`, in place on `gradient`: ∂x = (∂y − y (y·∂y)) / norm.
    public static func backward(unit y: UnsafePointer<Float>, norms: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>,
                                into inputGradient: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
        for r in 0..<rows {
            let u = y + r * columns, g = gradient + r * columns, dx = inputGradient + r * columns
            let projection = Elementwise.dot(u, g, count: columns)
            let inverse = 1 / norms[r]
            for j in 0..<columns { dx[j] = (g[j] - u[j] * projection) * inverse }
        }
    }
}
