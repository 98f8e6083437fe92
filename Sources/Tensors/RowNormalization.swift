/// Scaling rows to unit length, in two rules: `normalize` for what the network computes (its
/// L2Normalize, the losses, embedding), smooth and with NaN and overflow left visible so training
/// sees divergence; `unitLength` for vectors from outside (gallery items, queries, pixels), exact
/// for any finite size.
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
            let norm = (Elementwise.dot(source, source, count: columns) + epsilon).squareRoot()
            norms?[r] = norm
            for j in 0..<columns { target[j] = source[j] / norm }
        }
    }

    /// Each row of a [N, D] tensor scaled to length 1 exactly, in place: components too large
    /// (past about 1.8e19) or too small (below about 1e-15) for their squares in Float are scaled
    /// by the largest first. A zero row stays zero; a row holding a NaN or an infinity becomes NaN
    /// (check vectors from outside before: a gallery refuses them).
    public static func unitLength(_ tensor: Tensor) {
        let rows = tensor.shape.first ?? 0, columns = rows == 0 ? 0 : tensor.count / rows
        unitLength(tensor.pointer, rows: rows, columns: columns)
    }

    /// The same, on `rows` rows of `columns` values at `x`.
    public static func unitLength(_ x: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
        for r in 0..<rows {
            let row = x + r * columns
            let squared = Elementwise.dot(row, row, count: columns)
            if squared.isNaN {
                for j in 0..<columns { row[j] = .nan }
                continue
            }
            guard squared.isFinite, squared >= 1e-30 else {
                normalizeScaled(row, into: row, columns: columns, norm: nil)
                continue
            }
            let norm = squared.squareRoot()
            for j in 0..<columns { row[j] /= norm }
        }
    }

    /// One row whose squared norm overflows or underflows Float: x / max|x| first, then to unit
    /// length. A zero row stays zero; a row holding an infinity gives NaN, as its norm is not a number.
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
