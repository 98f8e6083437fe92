import Foundation

/// The t-SNE gradient 4·(Σⱼ pᵢⱼ qᵢⱼ Z (yᵢ − yⱼ) − Σⱼ qᵢⱼ² Z² (yᵢ − yⱼ) / Z): attraction over the
/// sparse affinities, repulsion and Z from a quadtree walk per point, spread over the cores.
final class BarnesHutGradient {
    let affinities: SparseAffinities
    let theta: Double
    private let tree = QuadTree()

    init(affinities: SparseAffinities, theta: Double) {
        self.affinities = affinities
        self.theta = theta
    }

    func compute(_ y: UnsafePointer<Double>, exaggeration: Double, into grad: UnsafeMutablePointer<Double>) {
        let n = affinities.count
        tree.build(y, count: n)
        let chunks = min(n, 64), theta = theta
        var zParts = [Double](repeating: 0, count: chunks)
        let out = SendablePointer(grad), positions = SendableConstPointer(y)
        zParts.withUnsafeMutableBufferPointer { zb in
            let z = SendablePointer(zb.baseAddress!)
            tree.withView { view in
                DispatchQueue.concurrentPerform(iterations: chunks) { c in
                    let stack = UnsafeMutablePointer<Int32>.allocate(capacity: QuadTree.walkStackSize)
                    defer { stack.deallocate() }
                    var sum = 0.0
                    for i in (c * n / chunks)..<((c + 1) * n / chunks) {
                        let (fx, fy, zi) = view.repulsion(of: i, positions.value, theta: theta, stack: stack)
                        out.value[2 * i] = fx; out.value[2 * i + 1] = fy
                        sum += zi
                    }
                    z.value[c] = sum
                }
            }
        }
        let total = zParts.reduce(0, +)
        let inverseZ = 1 / max(total, Double.leastNormalMagnitude)
        affinities.rowStart.withUnsafeBufferPointer { start in
            affinities.columns.withUnsafeBufferPointer { columns in
                affinities.values.withUnsafeBufferPointer { values in
                    for i in 0..<n {
                        var ax = 0.0, ay = 0.0
                        let xi = y[2 * i], yi = y[2 * i + 1]
                        for e in start[i]..<start[i + 1] {
                            let j = Int(columns[e])
                            let dx = xi - y[2 * j], dy = yi - y[2 * j + 1]
                            let w = exaggeration * values[e] / (1 + dx * dx + dy * dy)
                            ax += w * dx; ay += w * dy
                        }
                        grad[2 * i] = 4 * (ax - grad[2 * i] * inverseZ)
                        grad[2 * i + 1] = 4 * (ay - grad[2 * i + 1] * inverseZ)
                    }
                }
            }
        }
    }

    /// KL(P‖Q) over P's non-zero entries, Z from the tree (so approximate when theta > 0).
    func divergence(_ y: UnsafePointer<Double>) -> Double {
        let n = affinities.count
        tree.build(y, count: n)
        let stack = UnsafeMutablePointer<Int32>.allocate(capacity: QuadTree.walkStackSize)
        defer { stack.deallocate() }
        var z = 0.0
        tree.withView { view in for i in 0..<n { z += view.repulsion(of: i, y, theta: theta, stack: stack).2 } }
        var kl = 0.0
        for i in 0..<n {
            for e in affinities.rowStart[i]..<affinities.rowStart[i + 1] {
                let j = Int(affinities.columns[e]), p = affinities.values[e]
                let dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1]
                let q = 1 / (1 + dx * dx + dy * dy) / z
                if p > 0 { kl += p * log(max(p, Double.ulpOfOne) / max(q, Double.ulpOfOne)) }
            }
        }
        return kl
    }
}

struct SendablePointer<T>: @unchecked Sendable {
    let value: UnsafeMutablePointer<T>
    init(_ value: UnsafeMutablePointer<T>) { self.value = value }
}

struct SendableConstPointer<T>: @unchecked Sendable {
    let value: UnsafePointer<T>
    init(_ value: UnsafePointer<T>) { self.value = value }
}
