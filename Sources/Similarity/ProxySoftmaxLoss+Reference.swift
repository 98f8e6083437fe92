import Foundation
import Networks
import Tensors

/// The same loss in plain Double loops, for tests.
public enum ReferenceProxySoftmaxLoss {
    public static func loss(embeddings: [Float], proxies: [Float], labels: [Int32], dimension d: Int,
                            temperature: Double, margin: Double) -> Double {
        let b = labels.count, c = proxies.count / d
        func unit(_ v: ArraySlice<Float>) -> [Double] {
            let norm = (v.reduce(0.0) { $0 + Double($1) * Double($1) } + 1e-12).squareRoot()
            return v.map { Double($0) / norm }
        }
        var total = 0.0
        for i in 0..<b {
            let e = unit(embeddings[(i * d)..<((i + 1) * d)])
            let logits = (0..<c).map { j -> Double in
                let w = unit(proxies[(j * d)..<((j + 1) * d)])
                return (zip(e, w).map(*).reduce(0, +) - (j == Int(labels[i]) ? margin : 0)) / temperature
            }
            let top = logits.max()!
            total += log(logits.map { exp($0 - top) }.reduce(0, +)) + top - logits[Int(labels[i])]
        }
        return total / Double(b)
    }
}
