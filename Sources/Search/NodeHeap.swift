/// A binary max-heap of (key, node) pairs, the priority queues of graph search. A min-heap is
/// this one with negated keys. Entries sit side by side, and a sift moves a hole instead of
/// swapping, so a push or pop touches each level once.
struct NodeHeap {
    struct Entry {
        var key: Float
        var node: Int32
    }

    private(set) var entries: [Entry] = []

    init(capacity: Int) { entries.reserveCapacity(capacity) }

    var count: Int { entries.count }
    var isEmpty: Bool { entries.isEmpty }
    var topKey: Float { entries[0].key }
    var topNode: Int32 { entries[0].node }

    mutating func removeAll() { entries.removeAll(keepingCapacity: true) }

    @inline(__always)
    mutating func push(_ key: Float, _ node: Int32) {
        entries.append(Entry(key: key, node: node))
        entries.withUnsafeMutableBufferPointer { e in
            var child = e.count - 1
            while child > 0 {
                let parent = (child - 1) >> 1
                guard e[parent].key < key else { break }
                e[child] = e[parent]
                child = parent
            }
            e[child] = Entry(key: key, node: node)
        }
    }

    @inline(__always)
    @discardableResult
    mutating func pop() -> (key: Float, node: Int32) {
        let top = entries[0]
        let last = entries.removeLast()
        entries.withUnsafeMutableBufferPointer { e in
            let n = e.count
            guard n > 0 else { return }
            var parent = 0
            while true {
                let left = 2 * parent + 1
                if left >= n { break }
                var larger = left
                if left + 1 < n && e[left + 1].key > e[left].key { larger = left + 1 }
                guard e[larger].key > last.key else { break }
                e[parent] = e[larger]
                parent = larger
            }
            e[parent] = last
        }
        return (top.key, top.node)
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

/// What one graph search needs besides the graph, made once per batch of queries (or per thread)
/// and reused, so a query allocates nothing but its answer.
struct GraphSearchScratch {
    var visited: VisitedSet
    var candidates: NodeHeap
    var results: NodeHeap

    init(nodes: Int, ef: Int) {
        visited = VisitedSet(count: nodes)
        candidates = NodeHeap(capacity: 2 * ef)
        results = NodeHeap(capacity: ef + 1)
    }
}
