import Foundation

/// MultiSimilarityLoss in plain Double loops over pairs, written straight from the paper's and
/// pytorch-metric-learning's definitions, for tests.
public enum ReferenceMultiSimilarityLoss {
    public static func loss(embeddings: [Float], labels: [Int32], dimension d: Int,
                            alpha: Double, beta: Double, base: Double, epsilon: Double?) -> Double {
        let b = labels.count
        let units = (0..<b).map { i -> [Double] in
            let v = embeddings[(i * d)..<((i + 1) * d)].map(Double.init)
            let norm = (v.reduce(0) { $0 + $1 * $1 } + 1e-12).squareRoot()
            return v.map { $0 / norm }
        }
        func similarity(_ i: Int, _ j: Int) -> Double { zip(units[i], units[j]).map(*).reduce(0, +) }
        var total = 0.0
        for i in 0..<b {
            let others = (0..<b).filter { $0 != i }
            var positives = others.filter { labels[$0] == labels[i] }
            var negatives = others.filter { labels[$0] != labels[i] }
            if let epsilon {
                let mostNegative = negatives.map { similarity(i, $0) }.max() ?? -.infinity
                let leastPositive = positives.map { similarity(i, $0) }.min() ?? .infinity
                (positives, negatives) = (positives.filter { similarity(i, $0) - epsilon < mostNegative },
                                          negatives.filter { similarity(i, $0) + epsilon > leastPositive })
            }
            total += log(1 + positives.map { exp(-alpha * (similarity(i, $0) - base)) }.reduce(0, +)) / alpha
            total += log(1 + negatives.map { exp(beta * (similarity(i, $0) - base)) }.reduce(0, +)) / beta
        }
        return total / Double(b)
    }
}
