import COpenBLAS

/// C = alpha·op(A)·op(B) + beta·C on row-major matrices, through OpenBLAS.
/// op(A) is m×k, op(B) is k×n, C is m×n.
@inlinable
public func gemm(
    transposeA: Bool = false, transposeB: Bool = false,
    m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int? = nil,
    b: UnsafePointer<Float>, ldb: Int? = nil,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int? = nil
) {
    guard m > 0, n > 0 else { return }
    if k == 0 {
        // BLAS leaves C untouched for k = 0 only when beta = 1; make the empty product explicit.
        for i in 0..<m { for j in 0..<n { c[i * (ldc ?? n) + j] *= beta } }
        return
    }
    cblas_sgemm(
        CblasRowMajor,
        transposeA ? CblasTrans : CblasNoTrans,
        transposeB ? CblasTrans : CblasNoTrans,
        blasint(m), blasint(n), blasint(k),
        alpha, a, blasint(lda ?? (transposeA ? m : k)),
        b, blasint(ldb ?? (transposeB ? k : n)),
        beta, c, blasint(ldc ?? n))
}
