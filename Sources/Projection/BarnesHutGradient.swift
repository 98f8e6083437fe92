import Foundation
import Tensors

/// The t-SNE gradient 4·(Σⱼ pᵢⱼ qᵢⱼ Z (yᵢ − yⱼ) − Σⱼ qᵢⱼ² Z² (yᵢ − yⱼ) / Z): attraction over the
/// sparse affinities, repulsion and Z from a quadtree walk per point, spread over the cores.
final class BarnesHutGradient {
    let affinities: SparseAffinities
    let theta: Double
    private let tree = QuadTree()
    private var attraction: [Double] = []

    init(affinities: SparseAffinities, theta: Double) {
        self.affinities = affinities
        self.theta = theta
    }

    func compute(_ y: UnsafePointer<Double>, exaggeration: Double, into grad: UnsafeMutablePointer<Double>) {
        _ = computeReturningZ(y, exaggeration: exaggeration, into: grad)
    }

    /// The gradient, and Z = Σᵢ≠ⱼ (1 + ‖yᵢ − yⱼ‖²)⁻¹ from the same walk (for the divergence).
    /// Each worker takes rows in turn: the walk gives the repulsion and Z's share, the row of P the
    /// attraction; only the sum of Z waits for every row.
    func computeReturningZ(_ y: UnsafePointer<Double>, exaggeration: Double, into grad: UnsafeMutablePointer<Double>) -> Double {
        let n = affinities.count
        tree.build(y, count: n)
        if attraction.count != 2 * n { attraction = [Double](repeating: 0, count: 2 * n) }
        let chunks = min(n, 64), theta = theta
        var zParts = [Double](repeating: 0, count: chunks)
        let out = UncheckedSendable(grad), positions = UncheckedSendable(y), view = tree.view
        affinities.rowStart.withUnsafeBufferPointer { start in
        affinities.columns.withUnsafeBufferPointer { columns in
        affinities.values.withUnsafeBufferPointer { values in
        attraction.withUnsafeMutableBufferPointer { attraction in
        zParts.withUnsafeMutableBufferPointer { zb in
            let z = UncheckedSendable(zb.baseAddress!), pull = UncheckedSendable(attraction.baseAddress!)
            let start = UncheckedSendable(start.baseAddress!), columns = UncheckedSendable(columns.baseAddress!)
            let values = UncheckedSendable(values.baseAddress!)
            ComputeThreads.forEach(chunks) { c in
                let stack = UnsafeMutablePointer<Int32>.allocate(capacity: QuadTree.walkStackSize)
                defer { stack.deallocate() }
                let y = positions.value
                var sum = 0.0
                for i in (c * n / chunks)..<((c + 1) * n / chunks) {
                    let (fx, fy, zi) = view.repulsion(of: i, y, theta: theta, stack: stack)
                    out.value[2 * i] = fx; out.value[2 * i + 1] = fy
                    sum += zi
                    var ax = 0.0, ay = 0.0
                    let xi = y[2 * i], yi = y[2 * i + 1]
                    for e in start.value[i]..<start.value[i + 1] {
                        let j = Int(columns.value[e])
                        let dx = xi - y[2 * j], dy = yi - y[2 * j + 1]
                        let w = values.value[e] / (1 + dx * dx + dy * dy)
                        ax += w * dx; ay += w * dy
                    }
                    pull.value[2 * i] = exaggeration * ax; pull.value[2 * i + 1] = exaggeration * ay
                }
                z.value[c] = sum
            }
        } } } } }
        let total = zParts.reduce(0, +)
        let inverseZ = 1 / max(total, Double.leastNormalMagnitude)
        attraction.withUnsafeBufferPointer { pull in
            for c in 0..<(2 * n) { grad[c] = 4 * (pull[c] - grad[c] * inverseZ) }
        }
        return total
    }

    /// KL(P‖Q) over P's non-zero entries, Z from the tree (so approximate when theta > 0).
    func divergence(_ y: UnsafePointer<Double>) -> Double {
        let n = affinities.count
        tree.build(y, count: n)
        let stack = UnsafeMutablePointer<Int32>.allocate(capacity: QuadTree.walkStackSize)
        defer { stack.deallocate() }
        var z = 0.0
        let view = tree.view
        for i in 0..<n { z += view.repulsion(of: i, y, theta: theta, stack: stack).2 }
        return divergence(y, z: z)
    }

    /// KL(P‖Q) for a Z already summed (by the gradient's walk over the same positions).
    func divergence(_ y: UnsafePointer<Double>, z: Double) -> Double {
        var kl = 0.0
        affinities.rowStart.withUnsafeBufferPointer { start in
            affinities.columns.withUnsafeBufferPointer { columns in
                affinities.values.withUnsafeBufferPointer { values in
                    for i in 0..<affinities.count {
                        for e in start[i]..<start[i + 1] {
                            let j = Int(columns[e]), p = values[e]
                            let dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1]
                            let q = 1 / (1 + dx * dx + dy * dy) / z
                            if p > 0 { kl += p * log(max(p, Double.ulpOfOne) / max(q, Double.ulpOfOne)) }
                        }
                    }
                }
            }
        }
        return kl
    }
}
