import CLAPACK

/// Eigen-decomposition of a symmetric matrix through LAPACK's dsyevd.
enum SymmetricEigen {
    /// `matrix` is n×n, row-major (symmetric, so its layout does not matter). Returns eigenvalues in
    /// descending order and the matching unit eigenvectors, one per row.
    static func decompose(_ matrix: [Double], n: Int) throws(ProjectionError) -> (values: [Double], vectors: [[Double]]) {
        precondition(matrix.count == n * n)
        var a = matrix
        var w = [Double](repeating: 0, count: n)
        var size = Int32(n), lda = Int32(max(1, n)), info: Int32 = 0
        var jobz = CChar(UInt8(ascii: "V")), uplo = CChar(UInt8(ascii: "U"))
        // Workspace query first (lwork = liwork = -1), then the real call.
        var workSize = 0.0, iworkSize: Int32 = 0, query: Int32 = -1
        dsyevd_(&jobz, &uplo, &size, &a, &lda, &w, &workSize, &query, &iworkSize, &query, &info, 1, 1)
        guard info == 0 else { throw .lapack(routine: "dsyevd", info: Int(info)) }
        var lwork = Int32(workSize), liwork = iworkSize
        var work = [Double](repeating: 0, count: Int(lwork))
        var iwork = [Int32](repeating: 0, count: Int(liwork))
        dsyevd_(&jobz, &uplo, &size, &a, &lda, &w, &work, &lwork, &iwork, &liwork, &info, 1, 1)
        guard info == 0 else { throw .lapack(routine: "dsyevd", info: Int(info)) }
        // Column j of the column-major result is eigenvector j: row j of `a` read row-major.
        let order = (0..<n).reversed()
        return (order.map { w[$0] }, order.map { j in Array(a[(j * n)..<((j + 1) * n)]) })
    }
}
