/// A point-region quadtree over 2-D points, rebuilt every t-SNE iteration into buffers that are
/// kept between iterations (no allocation once they are large enough). Each cell keeps its point
/// count and centre of mass; a leaf keeps its points in a linked list, so coincident points share
/// one leaf and are still summed exactly.
final class QuadTree {
    /// What the repulsion walk reads of a cell, in one 32-byte record (one cache line holds two).
    struct Cell {
        var massX: Double, massY: Double
        /// The cell's side, squared, for the Barnes-Hut test width² < θ²·d².
        var widthSquared: Double
        var count: Int32
        /// > 0: internal, its four children are cells child ..< child + 4 (the root, 0, is no one's child);
        /// ≤ 0: a leaf whose first point is −child, or an empty leaf when count is 0.
        var child: Int32
    }

    private(set) var cells: UnsafeMutablePointer<Cell>
    private var centerX: UnsafeMutablePointer<Double>, centerY: UnsafeMutablePointer<Double>, halfWidth: UnsafeMutablePointer<Double>
    private(set) var capacity: Int
    private(set) var nodeCount = 0
    /// A leaf's next point after p (−1 at the end).
    private(set) var nextInLeaf: UnsafeMutablePointer<Int32>
    private var pointCapacity = 0

    /// Below this depth a leaf stops splitting and holds every point that falls in it.
    private static let maxDepth = 48

    init() {
        capacity = 0
        cells = .allocate(capacity: 0); centerX = .allocate(capacity: 0); centerY = .allocate(capacity: 0); halfWidth = .allocate(capacity: 0)
        nextInLeaf = .allocate(capacity: 0)
    }

    deinit {
        cells.deallocate(); centerX.deallocate(); centerY.deallocate(); halfWidth.deallocate(); nextInLeaf.deallocate()
    }

    func build(_ y: UnsafePointer<Double>, count n: Int) {
        var minX = Double.infinity, maxX = -Double.infinity, minY = Double.infinity, maxY = -Double.infinity
        for i in 0..<n {
            minX = min(minX, y[2 * i]); maxX = max(maxX, y[2 * i])
            minY = min(minY, y[2 * i + 1]); maxY = max(maxY, y[2 * i + 1])
        }
        if pointCapacity < n {
            nextInLeaf.deallocate()
            nextInLeaf = .allocate(capacity: n)
            pointCapacity = n
        }
        reserve(max(4 * n + 1, 64))
        nodeCount = 0
        let half = max(maxX - minX, maxY - minY) / 2 * (1 + 1e-6) + 1e-12
        addNode((minX + maxX) / 2, (minY + maxY) / 2, half)
        for i in 0..<n { insert(Int32(i), y[2 * i], y[2 * i + 1], y) }
        // Sums become centres of mass once every point is in.
        for c in 0..<nodeCount where cells[c].count > 0 {
            let inverse = 1 / Double(cells[c].count)
            cells[c].massX *= inverse; cells[c].massY *= inverse
        }
    }

    private func reserve(_ needed: Int) {
        guard needed > capacity else { return }
        let grown = max(needed, capacity * 2)
        func moved<T>(_ old: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<T> {
            let new = UnsafeMutablePointer<T>.allocate(capacity: grown)
            new.moveInitialize(from: old, count: nodeCount)
            old.deallocate()
            return new
        }
        cells = moved(cells); centerX = moved(centerX); centerY = moved(centerY); halfWidth = moved(halfWidth)
        capacity = grown
    }

    private func addNode(_ x: Double, _ y: Double, _ half: Double) {
        if nodeCount == capacity { reserve(capacity + 4) }
        (cells + nodeCount).initialize(to: Cell(massX: 0, massY: 0, widthSquared: 4 * half * half, count: 0, child: 0))
        centerX[nodeCount] = x; centerY[nodeCount] = y; halfWidth[nodeCount] = half
        nodeCount += 1
    }

    @inline(__always) private func quadrant(_ node: Int, _ x: Double, _ y: Double) -> Int {
        (x >= centerX[node] ? 1 : 0) + (y >= centerY[node] ? 2 : 0)
    }

    private func insert(_ point: Int32, _ x: Double, _ y: Double, _ positions: UnsafePointer<Double>) {
        var node = 0, depth = 0
        while true {
            cells[node].count += 1; cells[node].massX += x; cells[node].massY += y
            if cells[node].child <= 0 {
                if cells[node].count == 1 || depth >= Self.maxDepth {
                    // First point in, or a full-depth leaf taking one more: link it at the front.
                    nextInLeaf[Int(point)] = cells[node].count == 1 ? -1 : -cells[node].child
                    cells[node].child = -point
                    return
                }
                split(node, positions)
            }
            node = Int(cells[node].child) + quadrant(node, x, y)
            depth += 1
        }
    }

    /// Turns a leaf into four children and moves its points down one level. Called as a point
    /// arrives, after the leaf's count and sums already hold it; the leaf's own list does not.
    private func split(_ node: Int, _ positions: UnsafePointer<Double>) {
        let first = nodeCount, h = halfWidth[node] / 2
        for q in 0..<4 {
            addNode(centerX[node] + (q & 1 == 1 ? h : -h), centerY[node] + (q & 2 == 2 ? h : -h), h)
        }
        var p = -cells[node].child
        cells[node].child = Int32(first)
        while p >= 0 {
            let next = nextInLeaf[Int(p)]
            let x = positions[2 * Int(p)], y = positions[2 * Int(p) + 1]
            let child = first + quadrant(node, x, y)
            cells[child].count += 1; cells[child].massX += x; cells[child].massY += y
            nextInLeaf[Int(p)] = cells[child].count == 1 ? -1 : -cells[child].child
            cells[child].child = -p
            p = next
        }
    }

    var view: QuadTreeView { QuadTreeView(cells: cells, nextInLeaf: nextInLeaf) }

    /// The stack a walk needs: three entries per level plus the four children of the last.
    static let walkStackSize = 4 * 64
}

/// The built tree as raw pointers, for the repulsion walk that every worker thread reads at once.
struct QuadTreeView: @unchecked Sendable {
    let cells: UnsafePointer<QuadTree.Cell>
    let nextInLeaf: UnsafePointer<Int32>

    /// Point i's repulsive force Σⱼ qᵢⱼ²(yᵢ − yⱼ) and normaliser share Σⱼ qᵢⱼ, qᵢⱼ = 1/(1 + ‖yᵢ − yⱼ‖²),
    /// a cell standing for all its points when its width is under theta times its distance
    /// (van der Maaten 2014). theta = 0 visits every point: exact.
    ///
    /// The stack holds only cells to open: each child is judged as its parent opens, so the cells
    /// that are summed (most of them) are never pushed.
    @inline(__always)
    func repulsion(of i: Int, _ y: UnsafePointer<Double>, theta: Double, stack: UnsafeMutablePointer<Int32>) -> (Double, Double, Double) {
        let xi = y[2 * i], yi = y[2 * i + 1], theta2 = theta * theta
        var fx = 0.0, fy = 0.0, z = 0.0
        @inline(__always) func add(_ dx: Double, _ dy: Double, _ m: Double) {
            let q = 1 / (1 + dx * dx + dy * dy), mq = m * q
            z += mq; fx += mq * q * dx; fy += mq * q * dy
        }
        @inline(__always) func addLeaf(_ cell: QuadTree.Cell) {
            if cell.count == 1 {
                // A one-point leaf (most leaves): its centre of mass is the point.
                if Int(-cell.child) != i { add(xi - cell.massX, yi - cell.massY, 1) }
                return
            }
            var p = -cell.child
            while p >= 0 {
                if Int(p) != i { add(xi - y[2 &* Int(p)], yi - y[2 &* Int(p) &+ 1], 1) }
                p = nextInLeaf[Int(p)]
            }
        }
        let root = cells[0]
        if root.child <= 0 {
            addLeaf(root)
            return (fx, fy, z)
        }
        var top = 1
        stack[0] = root.child
        while top > 0 {
            top &-= 1
            let first = Int(stack[top])
            for k in first..<(first &+ 4) {
                let cell = cells[k]
                if cell.count == 0 { continue }
                if cell.child <= 0 { addLeaf(cell); continue }
                let dx = xi - cell.massX, dy = yi - cell.massY
                if cell.widthSquared < theta2 * (dx * dx + dy * dy) {
                    add(dx, dy, Double(cell.count))
                } else {
                    stack[top] = cell.child
                    top &+= 1
                }
            }
        }
        return (fx, fy, z)
    }
}
