/// A point-region quadtree over 2-D points, rebuilt every t-SNE iteration. Each cell keeps its
/// point count and the sum of its points' positions (centre of mass = sum / count); a leaf keeps
/// its points in a linked list, so coincident points share one leaf and are still summed exactly.
final class QuadTree {
    private(set) var centerX: [Double] = [], centerY: [Double] = [], halfWidth: [Double] = []
    private(set) var sumX: [Double] = [], sumY: [Double] = []
    private(set) var count: [Int32] = []
    /// Index of the first of four consecutive children, or −1 for a leaf.
    private(set) var firstChild: [Int32] = []
    /// A leaf's first point (−1 when empty); `nextInLeaf[p]` the next, −1 at the end.
    private(set) var firstPoint: [Int32] = []
    private(set) var nextInLeaf: [Int32] = []

    /// Below this width a leaf stops splitting and holds every point that falls in it.
    private static let maxDepth = 48
    /// The points being inserted, during `build` only.
    private var positions: UnsafePointer<Double>?

    func build(_ y: UnsafePointer<Double>, count n: Int) {
        positions = y
        defer { positions = nil }
        var minX = Double.infinity, maxX = -Double.infinity, minY = Double.infinity, maxY = -Double.infinity
        for i in 0..<n {
            minX = min(minX, y[2 * i]); maxX = max(maxX, y[2 * i])
            minY = min(minY, y[2 * i + 1]); maxY = max(maxY, y[2 * i + 1])
        }
        centerX.removeAll(keepingCapacity: true); centerY.removeAll(keepingCapacity: true)
        halfWidth.removeAll(keepingCapacity: true); sumX.removeAll(keepingCapacity: true)
        sumY.removeAll(keepingCapacity: true); count.removeAll(keepingCapacity: true)
        firstChild.removeAll(keepingCapacity: true); firstPoint.removeAll(keepingCapacity: true)
        if nextInLeaf.count != n { nextInLeaf = [Int32](repeating: -1, count: n) }
        let half = max(maxX - minX, maxY - minY) / 2 * (1 + 1e-6) + 1e-12
        addNode((minX + maxX) / 2, (minY + maxY) / 2, half)
        for i in 0..<n { insert(Int32(i), y[2 * i], y[2 * i + 1]) }
    }

    var nodeCount: Int { count.count }

    private func addNode(_ x: Double, _ y: Double, _ half: Double) {
        centerX.append(x); centerY.append(y); halfWidth.append(half)
        sumX.append(0); sumY.append(0); count.append(0); firstChild.append(-1); firstPoint.append(-1)
    }

    @inline(__always) private func quadrant(_ node: Int, _ x: Double, _ y: Double) -> Int {
        (x >= centerX[node] ? 1 : 0) + (y >= centerY[node] ? 2 : 0)
    }

    private func insert(_ point: Int32, _ x: Double, _ y: Double) {
        var node = 0, depth = 0
        while true {
            count[node] += 1; sumX[node] += x; sumY[node] += y
            if firstChild[node] < 0 {
                if firstPoint[node] < 0 || depth >= Self.maxDepth {
                    nextInLeaf[Int(point)] = firstPoint[node]
                    firstPoint[node] = point
                    return
                }
                split(node)
            }
            node = Int(firstChild[node]) + quadrant(node, x, y)
            depth += 1
        }
    }

    /// Turns a leaf into four children and moves its points down one level.
    private func split(_ node: Int) {
        let first = count.count, h = halfWidth[node] / 2
        for q in 0..<4 {
            addNode(centerX[node] + (q & 1 == 1 ? h : -h), centerY[node] + (q & 2 == 2 ? h : -h), h)
        }
        firstChild[node] = Int32(first)
        var p = firstPoint[node]
        firstPoint[node] = -1
        while p >= 0 {
            let next = nextInLeaf[Int(p)]
            let x = positions![2 * Int(p)], y = positions![2 * Int(p) + 1]
            let child = first + quadrant(node, x, y)
            count[child] += 1; sumX[child] += x; sumY[child] += y
            nextInLeaf[Int(p)] = firstPoint[child]
            firstPoint[child] = p
            p = next
        }
    }
}

/// The tree's arrays as raw buffers, for the repulsion walk that every worker thread reads at once.
struct QuadTreeView: @unchecked Sendable {
    let centerX: UnsafePointer<Double>, centerY: UnsafePointer<Double>, halfWidth: UnsafePointer<Double>
    let sumX: UnsafePointer<Double>, sumY: UnsafePointer<Double>, count: UnsafePointer<Int32>
    let firstChild: UnsafePointer<Int32>, firstPoint: UnsafePointer<Int32>, nextInLeaf: UnsafePointer<Int32>

    /// Point i's repulsive force Σⱼ qᵢⱼ²(yᵢ − yⱼ) and normaliser share Σⱼ qᵢⱼ, qᵢⱼ = 1/(1 + ‖yᵢ − yⱼ‖²),
    /// a cell standing for all its points when its width is under theta times its distance
    /// (van der Maaten 2014). theta = 0 visits every point: exact.
    func repulsion(of i: Int, _ y: UnsafePointer<Double>, theta: Double, stack: UnsafeMutablePointer<Int32>) -> (Double, Double, Double) {
        let xi = y[2 * i], yi = y[2 * i + 1], theta2 = theta * theta
        var fx = 0.0, fy = 0.0, z = 0.0
        var top = 1
        stack[0] = 0
        while top > 0 {
            top -= 1
            let node = Int(stack[top])
            let n = count[node]
            if n == 0 { continue }
            if firstChild[node] < 0 {
                var p = firstPoint[node]
                while p >= 0 {
                    if Int(p) != i {
                        let dx = xi - y[2 * Int(p)], dy = yi - y[2 * Int(p) + 1]
                        let q = 1 / (1 + dx * dx + dy * dy)
                        z += q; fx += q * q * dx; fy += q * q * dy
                    }
                    p = nextInLeaf[Int(p)]
                }
                continue
            }
            let inverse = 1 / Double(n)
            let dx = xi - sumX[node] * inverse, dy = yi - sumY[node] * inverse
            let d2 = dx * dx + dy * dy, width = 2 * halfWidth[node]
            if width * width < theta2 * d2 {
                let q = 1 / (1 + d2), m = Double(n)
                z += m * q; fx += m * q * q * dx; fy += m * q * q * dy
            } else {
                let c = firstChild[node]
                stack[top] = c; stack[top + 1] = c + 1; stack[top + 2] = c + 2; stack[top + 3] = c + 3
                top += 4
            }
        }
        return (fx, fy, z)
    }
}

extension QuadTree {
    func withView<R>(_ body: (QuadTreeView) -> R) -> R {
        centerX.withUnsafeBufferPointer { cx in centerY.withUnsafeBufferPointer { cy in halfWidth.withUnsafeBufferPointer { hw in
        sumX.withUnsafeBufferPointer { sx in sumY.withUnsafeBufferPointer { sy in count.withUnsafeBufferPointer { c in
        firstChild.withUnsafeBufferPointer { fc in firstPoint.withUnsafeBufferPointer { fp in nextInLeaf.withUnsafeBufferPointer { nl in
            body(QuadTreeView(centerX: cx.baseAddress!, centerY: cy.baseAddress!, halfWidth: hw.baseAddress!, sumX: sx.baseAddress!,
                              sumY: sy.baseAddress!, count: c.baseAddress!, firstChild: fc.baseAddress!, firstPoint: fp.baseAddress!,
                              nextInLeaf: nl.baseAddress!))
        } } } } } } } } }
    }

    /// The stack a walk needs: three entries per level plus the four children of the last.
    static let walkStackSize = 4 * 64
}
