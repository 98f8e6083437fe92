import Foundation
import Tensors

/// t-SNE's symmetric input affinities P = (P(j|i) + P(i|j)) / 2N, kept sparse: row i holds only
/// the points that have i, or that i has, among their nearest neighbours.
public struct SparseAffinities: Sendable {
    public let count: Int
    /// CSR: row i's entries are rowStart[i] ..< rowStart[i + 1].
    public var rowStart: [Int]
    public var columns: [Int32]
    public var values: [Double]

    /// From each point's k = min(N − 1, ⌊3·perplexity⌋ + 1) exact nearest neighbours, as
    /// scikit-learn's Barnes-Hut t-SNE does.
    public static func nearestNeighbours(_ x: Tensor, perplexity: Double) -> SparseAffinities {
        let n = x.shape[0], k = min(n - 1, Int(3 * perplexity) + 1)
        let neighbours = NearestNeighbours.compute(x, k: k)
        var conditional = [Double](repeating: 0, count: n * k)
        // Each row's bisection is independent: rows are shared among the cores.
        let workers = min(n, 2 * ComputeThreads.count)
        neighbours.squaredDistances.withUnsafeBufferPointer { squared in
            conditional.withUnsafeMutableBufferPointer { all in
                let squared = UncheckedSendable(squared.baseAddress!), all = UncheckedSendable(all.baseAddress!)
                ComputeThreads.forEach(workers) { w in
                    let d = UnsafeMutableBufferPointer<Double>.allocate(capacity: k)
                    defer { d.deallocate() }
                    for i in stride(from: w, to: n, by: workers) {
                        for j in 0..<k { d[j] = Double(squared.value[i * k + j]) }
                        Perplexity.calibrate(squaredDistances: UnsafeBufferPointer(d), perplexity: perplexity,
                                             into: UnsafeMutableBufferPointer(start: all.value + i * k, count: k))
                    }
                }
            }
        }
        return symmetrised(n: n, k: k, neighbours: neighbours.indices, conditional: conditional)
    }

    /// C + Cᵀ normalised to sum 1, C the n×k conditional probabilities of each row's neighbours.
    static func symmetrised(n: Int, k: Int, neighbours: [Int32], conditional: [Double]) -> SparseAffinities {
        var rowCount = [Int](repeating: 0, count: n + 1)
        for i in 0..<n { for e in 0..<k { rowCount[i] += 1; rowCount[Int(neighbours[i * k + e])] += 1 } }
        var start = [Int](repeating: 0, count: n + 1)
        for i in 0..<n { start[i + 1] = start[i] + rowCount[i] }
        var fill = start
        var columns = [Int32](repeating: 0, count: start[n]), values = [Double](repeating: 0, count: start[n])
        for i in 0..<n {
            for e in 0..<k {
                let j = Int(neighbours[i * k + e]), v = conditional[i * k + e]
                columns[fill[i]] = Int32(j); values[fill[i]] = v; fill[i] += 1
                columns[fill[j]] = Int32(i); values[fill[j]] = v; fill[j] += 1
            }
        }
        // Merge each row's duplicate columns (a pair that are each other's neighbours appears twice).
        var outStart = [Int](repeating: 0, count: n + 1)
        var outColumns: [Int32] = [], outValues: [Double] = []
        outColumns.reserveCapacity(start[n]); outValues.reserveCapacity(start[n])
        var total = 0.0
        for i in 0..<n {
            let entries = (start[i]..<start[i + 1]).sorted { columns[$0] < columns[$1] }
            for e in entries {
                if outColumns.count > outStart[i], outColumns.last! == columns[e] {
                    outValues[outValues.count - 1] += values[e]
                } else {
                    outColumns.append(columns[e]); outValues.append(values[e])
                }
                total += values[e]
            }
            outStart[i + 1] = outColumns.count
        }
        let scale = 1 / max(total, Double.ulpOfOne)
        for e in outValues.indices { outValues[e] *= scale }
        return SparseAffinities(count: n, rowStart: outStart, columns: outColumns, values: outValues)
    }

    /// The same affinities as a dense N×N matrix (for tests on small N).
    public var dense: [Double] {
        var p = [Double](repeating: 0, count: count * count)
        for i in 0..<count { for e in rowStart[i]..<rowStart[i + 1] { p[i * count + Int(columns[e])] = values[e] } }
        return p
    }
}

/// The reference: every pair, distances in double precision, dense N×N.
public enum ExactAffinities {
    public static func compute(_ x: Tensor, perplexity: Double) -> [Double] {
        let n = x.shape[0], d = x.shape[1]
        var p = [Double](repeating: 0, count: n * n)
        var distances = [Double](repeating: 0, count: n - 1), row = [Double](repeating: 0, count: n - 1)
        for i in 0..<n {
            var e = 0
            for j in 0..<n where j != i {
                var s = 0.0
                for c in 0..<d { let t = Double(x.pointer[i * d + c]) - Double(x.pointer[j * d + c]); s += t * t }
                distances[e] = s; e += 1
            }
            distances.withUnsafeBufferPointer { dist in
                row.withUnsafeMutableBufferPointer { Perplexity.calibrate(squaredDistances: dist, perplexity: perplexity, into: $0) }
            }
            e = 0
            for j in 0..<n where j != i { p[i * n + j] = row[e]; e += 1 }
        }
        var symmetric = [Double](repeating: 0, count: n * n)
        var total = 0.0
        for i in 0..<n { for j in 0..<n { symmetric[i * n + j] = p[i * n + j] + p[j * n + i]; total += symmetric[i * n + j] } }
        // scikit-learn floors every entry at machine epsilon after normalising.
        let scale = 1 / max(total, Double.ulpOfOne)
        for i in 0..<n { for j in 0..<n where j != i { symmetric[i * n + j] = max(symmetric[i * n + j] * scale, Double.ulpOfOne) } }
        return symmetric
    }
}
