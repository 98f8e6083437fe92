import Foundation
import Tensors

/// The same loss in plain Double loops, for tests.
public enum ReferenceInstanceContrastiveLoss {
    public static func loss(embeddings: [Float], labels: [Int32], dimension d: Int, temperature: Double) -> Double {
        let b = labels.count
        let units = (0..<b).map { i -> [Double] in
            let v = embeddings[(i * d)..<((i + 1) * d)].map(Double.init)
            let norm = (v.reduce(0) { $0 + $1 * $1 } + 1e-12).squareRoot()
            return v.map { $0 / norm }
        }
        func logit(_ i: Int, _ j: Int) -> Double { zip(units[i], units[j]).map(*).reduce(0, +) / temperature }
        var total = 0.0, pairs = 0
        for a in 0..<b { for p in 0..<b where p != a && labels[p] == labels[a] {
            let negatives = (0..<b).filter { labels[$0] != labels[a] }.map { exp(logit(a, $0)) }.reduce(0, +)
            total += -logit(a, p) + log(exp(logit(a, p)) + negatives)
            pairs += 1
        } }
        return total / Double(max(pairs, 1))
    }
}
