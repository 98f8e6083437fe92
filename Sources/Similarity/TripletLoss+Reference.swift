import Tensors

/// The loss in plain Double arithmetic over arrays, for tests.
public enum ReferenceTripletLoss {
    public static func loss(_ embeddings: [Float], batch b: Int, dimension d: Int, margin: Float, distance: Distance) -> Double {
        func vector(_ row: Int) -> [Double] { (0..<d).map { Double(embeddings[row * d + $0]) } }
        func measure(_ x: [Double], _ y: [Double]) -> Double {
            switch distance {
            case .l2: return (zip(x, y).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) + 1e-12).squareRoot()
            case .cosine:
                let dot = zip(x, y).map(*).reduce(0, +)
                let nx = (x.map { $0 * $0 }.reduce(0, +) + 1e-12).squareRoot(), ny = (y.map { $0 * $0 }.reduce(0, +) + 1e-12).squareRoot()
                return 1 - dot / (nx * ny)
            }
        }
        var total = 0.0
        for i in 0..<b {
            let a = vector(i), p = vector(b + i), n = vector(2 * b + i)
            total += max(0, measure(a, p) - measure(a, n) + Double(margin))
        }
        return total / Double(b)
    }
}
