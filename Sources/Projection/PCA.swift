import COpenBLAS
import Tensors

/// A fitted principal component analysis: the data's mean and its leading directions.
public struct PrincipalComponents: Sendable {
    public var mean: [Double]
    /// Unit directions, one per row, by decreasing variance. Each sign is fixed so that the
    /// entry of largest magnitude is positive (scikit-learn's `svd_flip` on the components), so
    /// results do not depend on the eigen solver's whims.
    public var components: [[Double]]
    /// Variance along each component (eigenvalues of the covariance, N − 1 denominator).
    public var explainedVariance: [Double]
    /// Each component's share of the total variance.
    public var explainedVarianceRatio: [Double]

    /// Coordinates of each row of `x` ([N, D]) along the components: N rows of `components.count` values.
    public func project(_ x: Tensor) -> [Double] {
        let n = x.shape[0], d = x.shape[1], k = components.count
        var out = [Double](repeating: 0, count: n * k)
        for i in 0..<n {
            let row = x.pointer + i * d
            for c in 0..<k {
                var s = 0.0
                for j in 0..<d { s += (Double(row[j]) - mean[j]) * components[c][j] }
                out[i * k + c] = s
            }
        }
        return out
    }
}

public enum PCA {
    /// Fits `components` principal components to the rows of `x` ([N, D]): the covariance by one
    /// BLAS product in double precision, then its eigenvectors by LAPACK.
    public static func fit(_ x: Tensor, components k: Int) throws(ProjectionError) -> PrincipalComponents {
        precondition(x.shape.count == 2, "PCA takes [N, D] vectors")
        let n = x.shape[0], d = x.shape[1]
        guard n >= 2 else { throw .tooFewPoints(needed: 2, got: n, method: "PCA") }
        guard k >= 1 && k <= d else { throw .tooManyComponents(requested: k, dimension: d) }
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<n {
            let row = x.pointer + i * d
            for j in 0..<d {
                guard row[j].isFinite else { throw .notFinite(row: i) }
                mean[j] += Double(row[j])
            }
        }
        for j in 0..<d { mean[j] /= Double(n) }
        var centered = [Double](repeating: 0, count: n * d)
        for i in 0..<n { for j in 0..<d { centered[i * d + j] = Double(x.pointer[i * d + j]) - mean[j] } }
        var covariance = [Double](repeating: 0, count: d * d)
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, blasint(d), blasint(d), blasint(n),
                    1 / Double(n - 1), centered, blasint(d), centered, blasint(d), 0, &covariance, blasint(d))
        let (values, vectors) = try SymmetricEigen.decompose(covariance, n: d)
        let total = values.reduce(0) { $0 + max($1, 0) }
        let chosen = vectors.prefix(k).map { v -> [Double] in
            let largest = v.indices.max { abs(v[$0]) < abs(v[$1]) }!
            return v[largest] < 0 ? v.map { -$0 } : v
        }
        let variances = values.prefix(k).map { max($0, 0) }
        return PrincipalComponents(mean: mean, components: Array(chosen), explainedVariance: Array(variances),
                                   explainedVarianceRatio: variances.map { total > 0 ? $0 / total : 0 })
    }
}
