import Foundation

/// Agreement between two labelings of the same items, as scikit-learn defines it
/// (`mutual_info_score`, `normalized_mutual_info_score`): natural logarithms, label values
/// only name groups (permuting them changes nothing).
public enum MutualInformation {
    /// Shannon entropy of a labeling, in nats.
    public static func entropy(_ labels: [Int]) -> Double {
        guard !labels.isEmpty else { return 0 }
        var counts: [Int: Int] = [:]
        for label in labels { counts[label, default: 0] += 1 }
        let n = Double(labels.count)
        var h = 0.0
        for count in counts.values.sorted() {
            let p = Double(count) / n
            h -= p * log(p)
        }
        return h
    }

    /// I(a; b) = Σ p(i, j) · log(p(i, j) / (p(i) · p(j))) over the contingency table, clipped at 0
    /// as scikit-learn does (rounding can make it a hair negative for independent labelings).
    public static func mutualInformation(_ a: [Int], _ b: [Int]) -> Double {
        precondition(a.count == b.count, "two labelings of the same items: \(a.count) and \(b.count) labels")
        guard !a.isEmpty else { return 0 }
        var rows: [Int: Int] = [:], columns: [Int: Int] = [:]
        var joint: [Pair: Int] = [:]
        for (x, y) in zip(a, b) {
            rows[x, default: 0] += 1
            columns[y, default: 0] += 1
            joint[Pair(a: x, b: y), default: 0] += 1
        }
        let n = Double(a.count)
        var mi = 0.0
        // A fixed order, so the sum (and the report) is the same on every run.
        for (pair, count) in joint.sorted(by: { ($0.key.a, $0.key.b) < ($1.key.a, $1.key.b) }) {
            let nij = Double(count)
            mi += nij / n * log(n * nij / (Double(rows[pair.a]!) * Double(columns[pair.b]!)))
        }
        return max(mi, 0)
    }

    /// I(a; b) / ((H(a) + H(b)) / 2): scikit-learn's `normalized_mutual_info_score` with its default
    /// `average_method='arithmetic'`, including its limit cases: 1 when neither labeling splits the
    /// items (both have one group, or there are no items), 0 when the mutual information is 0.
    public static func normalizedMutualInformation(_ a: [Int], _ b: [Int]) -> Double {
        precondition(a.count == b.count, "two labelings of the same items: \(a.count) and \(b.count) labels")
        let groupsA = Set(a).count, groupsB = Set(b).count
        if groupsA == groupsB && groupsA <= 1 { return 1 }
        let mi = mutualInformation(a, b)
        if mi == 0 { return 0 }
        return mi / ((entropy(a) + entropy(b)) / 2)
    }

    private struct Pair: Hashable {
        var a: Int
        var b: Int
    }
}
