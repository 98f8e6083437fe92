import Tensors

/// The distance between every two rows of a batch of embeddings E [B, D], from one GEMM (the Gram
/// matrix E·Eᵀ), and the backward from a B×B upstream gradient to E with one more.
///
/// The values follow `Distance.evaluate`'s ε convention, so a pair measured here and measured
/// there agree to rounding:
/// - l2: D_ij = √(max(|e_i|² + |e_j|² − 2 e_i·e_j, 0) + ε)
/// - cosine: D_ij = 1 − e_i·e_j / (√(|e_i|² + ε) √(|e_j|² + ε))
///
/// For l2 the Gram form loses precision when two rows are close next to their norms (the three terms
/// cancel); such pairs are measured directly from their difference instead, and their gradient is
/// taken directly too. That keeps the gradient exact (zero) for repeated images, whose distance is
/// √ε and would otherwise turn rounding noise into a gradient of order 1/√ε.
public struct PairwiseDistances: Sendable {
    public let distance: Distance
    /// B, the number of rows.
    public let count: Int
    /// B×B, row-major and exactly symmetric. The diagonal holds each row's distance to itself as
    /// `Distance.evaluate` gives it (√ε for l2); losses leave it out.
    public private(set) var values: [Float]
    /// |e_i|², the Gram matrix's diagonal.
    private var squaredNorms: [Float]

    /// Below this share of |e_i|² + |e_j|², an l2 squared distance is measured from the difference:
    /// there the Gram form's relative error (≈ 1e-7 / share) would exceed a few ulps.
    static let closeShare: Float = 1.0 / 16

    public init(_ distance: Distance, embeddings: Tensor) {
        precondition(embeddings.shape.count == 2, "embeddings must be [B, D], got \(embeddings.shape)")
        let b = embeddings.shape[0], d = embeddings.shape[1]
        self.distance = distance
        count = b
        var gram = [Float](repeating: 0, count: b * b)
        gram.withUnsafeMutableBufferPointer { g in
            gemm(transposeB: true, m: b, n: b, k: d, a: embeddings.pointer, b: embeddings.pointer, c: g.baseAddress!)
        }
        squaredNorms = (0..<b).map { gram[$0 * b + $0] }
        values = gram
        let e = embeddings.pointer
        let epsilon = Distance.epsilon
        squaredNorms.withUnsafeBufferPointer { norms in
            values.withUnsafeMutableBufferPointer { v in
                for i in 0..<b {
                    v[i * b + i] = distance.evaluate(e + i * d, e + i * d, count: d)
                    // The upper triangle, mirrored: the GEMM need not give g_ij and g_ji bit for bit.
                    for j in (i + 1)..<b {
                        let g = v[i * b + j]
                        let value: Float
                        switch distance {
                        case .l2:
                            let sum = norms[i] + norms[j]
                            let squared = sum - 2 * g
                            value = squared < Self.closeShare * sum
                                ? distance.evaluate(e + i * d, e + j * d, count: d)
                                : (max(squared, 0) + epsilon).squareRoot()
                        case .cosine:
                            value = 1 - g / ((norms[i] + epsilon).squareRoot() * (norms[j] + epsilon).squareRoot())
                        }
                        v[i * b + j] = value
                        v[j * b + i] = value
                    }
                }
            }
        }
    }

    public subscript(i: Int, j: Int) -> Float { values[i * count + j] }

    /// Overwrites `gradient` [B, D] with ∂L/∂E, given `upstream` = ∂L/∂D (B×B, row-major). The
    /// upstream's diagonal is ignored. `embeddings` must be the ones the distances were measured on.
    ///
    /// With S = G + Gᵀ (D is symmetric, so both entries of a pair pull on it):
    /// - l2: W_ij = S_ij / D_ij, grad_i = (Σ_j W_ij) e_i − Σ_j W_ij e_j
    /// - cosine: c_ij = 1 − D_ij, n_i = √(|e_i|² + ε),
    ///   grad_i = ((Σ_j S_ij c_ij) e_i / n_i − Σ_j (S_ij / n_j) e_j) / n_i
    public func backward(upstream: [Float], embeddings: Tensor, gradient: Tensor) {
        let b = count
        precondition(upstream.count == b * b, "upstream must be B×B = \(b * b) values, got \(upstream.count)")
        precondition(embeddings.shape.count == 2 && embeddings.shape[0] == b, "embeddings must be [\(b), D], got \(embeddings.shape)")
        precondition(gradient.shape == embeddings.shape, "gradient \(gradient.shape) must match embeddings \(embeddings.shape)")
        let d = embeddings.shape[1]
        let e = embeddings.pointer, out = gradient.pointer
        let epsilon = Distance.epsilon
        // The weights the GEMM multiplies E by, and what each row keeps of itself.
        var weights = [Float](repeating: 0, count: b * b)
        var own = [Float](repeating: 0, count: b)
        values.withUnsafeBufferPointer { v in
        squaredNorms.withUnsafeBufferPointer { norms in
        upstream.withUnsafeBufferPointer { g in
            weights.withUnsafeMutableBufferPointer { w in
                for i in 0..<b {
                    var kept: Float = 0
                    for j in 0..<b where j != i {
                        let s = g[i * b + j] + g[j * b + i]
                        guard s != 0 else { continue }
                        switch distance {
                        case .l2:
                            guard !isClose(i, j, v, norms) else { continue }
                            let weight = s / v[i * b + j]
                            w[i * b + j] = weight
                            kept += weight
                        case .cosine:
                            w[i * b + j] = s / (norms[j] + epsilon).squareRoot()
                            kept += s * (1 - v[i * b + j])
                        }
                    }
                    own[i] = kept
                }
                gemm(m: b, n: d, k: b, alpha: -1, a: w.baseAddress!, b: e, beta: 0, c: out)
            }
            for i in 0..<b {
                let row = out + i * d, ei = e + i * d
                switch distance {
                case .l2:
                    let kept = own[i]
                    for c in 0..<d { row[c] += kept * ei[c] }
                    // Close pairs, from the difference itself.
                    for j in 0..<b where j != i {
                        let s = g[i * b + j] + g[j * b + i]
                        guard s != 0, isClose(i, j, v, norms) else { continue }
                        let k = s / v[i * b + j], ej = e + j * d
                        for c in 0..<d { row[c] += k * (ei[c] - ej[c]) }
                    }
                case .cosine:
                    let inverse = 1 / (norms[i] + epsilon).squareRoot()
                    let kept = own[i] * inverse
                    for c in 0..<d { row[c] = (row[c] + kept * ei[c]) * inverse }
                }
            }
        }
        }
        }
    }

    /// Whether the l2 pair (i, j) is one the Gram form measures poorly (see `closeShare`).
    @inline(__always)
    private func isClose(_ i: Int, _ j: Int, _ v: UnsafeBufferPointer<Float>, _ norms: UnsafeBufferPointer<Float>) -> Bool {
        let value = v[i * count + j]
        return value * value < Self.closeShare * (norms[i] + norms[j])
    }
}
