/// Every row index of `vectors` by cosine similarity to `query`, best first: the definition that
/// searches are checked against (every similarity computed, then sorted).
public func cosineRanking(_ vectors: [[Float]], _ query: [Float]) -> [Int] {
    func norm(_ v: [Float]) -> Float { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
    let q = norm(query)
    let similarities = vectors.map { v in zip(v, query).reduce(Float(0)) { $0 + $1.0 * $1.1 } / (norm(v) * q) }
    return vectors.indices.sorted { similarities[$0] > similarities[$1] }
}
