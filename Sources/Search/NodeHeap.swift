/// A binary max-heap of (key, node) pairs, the priority queues of graph search. A min-heap is
/// this one with negated keys.
struct NodeHeap {
    private(set) var keys: [Float] = []
    private(set) var nodes: [Int32] = []

    init(capacity: Int) {
        keys.reserveCapacity(capacity)
        nodes.reserveCapacity(capacity)
    }

    var count: Int { keys.count }
    var isEmpty: Bool { keys.isEmpty }
    var topKey: Float { keys[0] }
    var topNode: Int32 { nodes[0] }

    mutating func removeAll() {
        keys.removeAll(keepingCapacity: true)
        nodes.removeAll(keepingCapacity: true)
    }

    @inline(__always)
    mutating func push(_ key: Float, _ node: Int32) {
        keys.append(key)
        nodes.append(node)
        var child = keys.count - 1
        while child > 0 {
            let parent = (child - 1) >> 1
            guard keys[parent] < keys[child] else { break }
            keys.swapAt(parent, child)
            nodes.swapAt(parent, child)
            child = parent
        }
    }

    @inline(__always)
    @discardableResult
    mutating func pop() -> (key: Float, node: Int32) {
        let top = (keys[0], nodes[0])
        let lastKey = keys.removeLast(), lastNode = nodes.removeLast()
        if !keys.isEmpty {
            keys[0] = lastKey
            nodes[0] = lastNode
            var parent = 0
            let n = keys.count
            while true {
                let left = 2 * parent + 1, right = left + 1
                var largest = parent
                if left < n && keys[left] > keys[largest] { largest = left }
                if right < n && keys[right] > keys[largest] { largest = right }
                if largest == parent { break }
                keys.swapAt(parent, largest)
                nodes.swapAt(parent, largest)
                parent = largest
            }
        }
        return top
    }
}

/// Marks which nodes one search has seen; a new search bumps the tag instead of clearing.
struct VisitedSet {
    private var tags: [UInt32]
    private var current: UInt32 = 0

    init(count: Int) { tags = [UInt32](repeating: 0, count: count) }

    mutating func reset(count: Int) {
        if tags.count < count { tags.append(contentsOf: repeatElement(0, count: count - tags.count)) }
        current &+= 1
        if current == 0 {
            for i in tags.indices { tags[i] = 0 }
            current = 1
        }
    }

    /// True the first time a node is seen in this search.
    @inline(__always)
    mutating func insert(_ node: Int32) -> Bool {
        if tags[Int(node)] == current { return false }
        tags[Int(node)] = current
        return true
    }
}
