import Tensors

/// The plain version the tests hold the fast one to.
extension SQ8Index {
    /// The similarity of a query to the decoded vector of item row `row`, in plain loops.
    func referenceSimilarity(_ query: [Float], row: Int) -> Float {
        var sum: Float = 0
        for j in 0..<dimension { sum += query[j] * (minimum[j] + Float(codes[row * dimension + j]) * step[j]) }
        return sum
    }
}
