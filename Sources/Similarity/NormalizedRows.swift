import Tensors

/// Rows scaled to unit length, remembering the norms for the backward pass.
struct NormalizedRows {
    let unit: UnsafeMutablePointer<Float>
    let norms: [Float]
    let rows: Int, columns: Int

    init(_ x: UnsafePointer<Float>, rows: Int, columns: Int) {
        self.rows = rows
        self.columns = columns
        unit = .allocate(capacity: rows * columns)
        var norms = [Float](repeating: 0, count: rows)
        for r in 0..<rows {
            let row = x + r * columns
            let norm = (Elementwise.dot(row, row, count: columns) + 1e-12).squareRoot()
            norms[r] = norm
            for j in 0..<columns { unit[r * columns + j] = row[j] / norm }
        }
        self.norms = norms
    }

    /// In place: ∂/∂x = (∂/∂x̂ − x̂ (x̂·∂/∂x̂)) / |x|.
    func backward(_ g: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let u = unit + r * columns, row = g + r * columns
            let projection = Elementwise.dot(u, row, count: columns)
            for j in 0..<columns { row[j] = (row[j] - u[j] * projection) / norms[r] }
        }
    }

    func release() { unit.deallocate() }
}
