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
        var lengths = [Float](repeating: 0, count: rows)
        let unit = self.unit
        lengths.withUnsafeMutableBufferPointer { RowNormalization.normalize(x, into: unit, rows: rows, columns: columns, norms: $0.baseAddress) }
        norms = lengths
    }

    /// In place: ∂/∂x = (∂/∂x̂ − x̂ (x̂·∂/∂x̂)) / |x|.
    func backward(_ g: UnsafeMutablePointer<Float>) {
        RowNormalization.backward(unit: unit, norms: norms, gradient: g, into: g, rows: rows, columns: columns)
    }

    func release() { unit.deallocate() }
}

/// The pair losses' shared ends: cosine similarities of every pair of rows, and the way back from
/// ∂loss/∂similarity to ∂loss/∂row.
extension NormalizedRows {
    /// s[i·rows + j] = x̂_i · x̂_j, one GEMM.
    func similarities() -> [Float] {
        var s = [Float](repeating: 0, count: rows * rows)
        s.withUnsafeMutableBufferPointer { gemm(transposeB: true, m: rows, n: rows, k: columns, a: unit, b: unit, c: $0.baseAddress!) }
        return s
    }

    /// `weights[i·rows + j]` holds ∂loss/∂s_ij as anchor i's term sees it. Since s_ij = s_ji both
    /// halves add up: ∂loss/∂x̂_i = Σ_j (w_ij + w_ji) x̂_j, then back through the normalisation into
    /// `gradient` (overwritten). `weights` is left symmetrised.
    func backward(similarityGradient weights: inout [Float], into gradient: UnsafeMutablePointer<Float>) {
        let n = rows
        weights.withUnsafeMutableBufferPointer { w in
            for i in 0..<n { for j in (i + 1)..<n {
                let both = w[i * n + j] + w[j * n + i]
                w[i * n + j] = both
                w[j * n + i] = both
            } }
            gemm(m: n, n: columns, k: n, a: w.baseAddress!, b: unit, c: gradient)
        }
        backward(gradient)
    }
}
