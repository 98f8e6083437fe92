import Foundation

/// `MinedTripletLoss` in plain Double arithmetic: distances pair by pair, an explicit list of mined
/// triplets, the gradient triplet by triplet. For tests; slow on purpose.
public enum ReferenceMinedTripletLoss {
    public struct Result: Sendable {
        public var loss: Double
        /// ∂loss/∂embeddings, B×D row-major.
        public var gradient: [Double]
        public var activeFraction: Double
        public var triplets: Int
        public var meanPositiveDistance: Double
        public var meanNegativeDistance: Double
    }

    public static func evaluate(embeddings: [Float], labels: [Int32], dimension d: Int, margin: Float,
                                distance: Distance, mining: MinerKind, softMargin: Bool) -> Result {
        let b = labels.count
        precondition(embeddings.count == b * d, "\(embeddings.count) values for \(b) rows of \(d)")
        let rows = (0..<b).map { i in (0..<d).map { Double(embeddings[i * d + $0]) } }
        let epsilon = 1e-12
        func norm(_ x: [Double]) -> Double { (x.map { $0 * $0 }.reduce(0, +) + epsilon).squareRoot() }
        func dot(_ x: [Double], _ y: [Double]) -> Double { zip(x, y).map(*).reduce(0, +) }
        func measure(_ i: Int, _ j: Int) -> Double {
            let x = rows[i], y = rows[j]
            switch distance {
            case .l2: return (zip(x, y).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) + epsilon).squareRoot()
            case .cosine: return 1 - dot(x, y) / (norm(x) * norm(y))
            }
        }
        /// ∂D(i, j)/∂e_i.
        func derivative(_ i: Int, _ j: Int) -> [Double] {
            let x = rows[i], y = rows[j]
            switch distance {
            case .l2:
                let dij = measure(i, j)
                return zip(x, y).map { ($0 - $1) / dij }
            case .cosine:
                let nx = norm(x), ny = norm(y)
                let c = dot(x, y) / (nx * ny)
                return zip(x, y).map { -($1 / (nx * ny) - c * $0 / (nx * nx)) }
            }
        }

        var positiveSum = 0.0, positivePairs = 0, negativeSum = 0.0, negativePairs = 0
        var mined: [(a: Int, p: Int, n: Int)] = []
        for a in 0..<b {
            let positives = (0..<b).filter { $0 != a && labels[$0] == labels[a] }
            let negatives = (0..<b).filter { labels[$0] != labels[a] }
            positiveSum += positives.map { measure(a, $0) }.reduce(0, +)
            negativeSum += negatives.map { measure(a, $0) }.reduce(0, +)
            positivePairs += positives.count
            negativePairs += negatives.count
            guard !positives.isEmpty, !negatives.isEmpty else { continue }
            // Ties go to the lowest index, as in the fast version.
            var nearestNegative = negatives[0]
            for n in negatives where measure(a, n) < measure(a, nearestNegative) { nearestNegative = n }
            switch mining {
            case .all:
                for p in positives { for n in negatives { mined.append((a, p, n)) } }
            case .hard:
                var farthestPositive = positives[0]
                for p in positives where measure(a, p) > measure(a, farthestPositive) { farthestPositive = p }
                mined.append((a, farthestPositive, nearestNegative))
            case .semiHard:
                for p in positives {
                    let farther = negatives.filter { measure(a, $0) > measure(a, p) }
                    var chosen = farther.first ?? nearestNegative
                    for n in farther where measure(a, n) < measure(a, chosen) { chosen = n }
                    mined.append((a, p, chosen))
                }
            case .random:
                preconditionFailure("the random miner draws its own triplets")
            }
        }

        // Each triplet's loss and its slope with respect to D_ap − D_an.
        let terms: [(loss: Double, slope: Double, active: Bool)] = mined.map { t in
            let x = measure(t.a, t.p) - measure(t.a, t.n)
            if softMargin {
                // log(1 + eˣ) and σ(x), each in the form whose exp cannot overflow.
                let value = x > 0 ? x + log1p(exp(-x)) : log1p(exp(x))
                let slope = x > 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x))
                return (value, slope, x > 0)
            }
            let violation = x + Double(margin)
            return (max(0, violation), violation > 0 ? 1 : 0, violation > 0)
        }
        let active = terms.filter(\.active).count
        let reducedCount = softMargin ? mined.count : active
        var loss = 0.0
        var gradient = [Double](repeating: 0, count: b * d)
        if reducedCount > 0 {
            loss = terms.map(\.loss).reduce(0, +) / Double(reducedCount)
            for (t, term) in zip(mined, terms) where term.slope != 0 {
                let weight = term.slope / Double(reducedCount)
                let pairs: [(i: Int, j: Int, sign: Double)] = [(t.a, t.p, 1), (t.p, t.a, 1), (t.a, t.n, -1), (t.n, t.a, -1)]
                for pair in pairs {
                    let g = derivative(pair.i, pair.j)
                    for c in 0..<d { gradient[pair.i * d + c] += pair.sign * weight * g[c] }
                }
            }
        }
        return Result(loss: loss, gradient: gradient,
                      activeFraction: mined.isEmpty ? 0 : Double(active) / Double(mined.count), triplets: mined.count,
                      meanPositiveDistance: positivePairs > 0 ? positiveSum / Double(positivePairs) : 0,
                      meanNegativeDistance: negativePairs > 0 ? negativeSum / Double(negativePairs) : 0)
    }
}
