import Foundation

/// A binary max-heap of (key, node) pairs, the priority queues of graph search. A min-heap is
/// this one with negated keys. Entries sit side by side in storage the heap owns (no array
/// uniqueness or bounds checks in the hot loop), and a sift moves a hole instead of swapping.
final class NodeHeap {
    struct Entry {
        var key: Float
        var node: Int32
    }

    private var storage: UnsafeMutablePointer<Entry>
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 4)
        storage = .allocate(capacity: self.capacity)
    }

    deinit { storage.deallocate() }

    var isEmpty: Bool { count == 0 }
    var topKey: Float { storage[0].key }
    var topNode: Int32 { storage[0].node }

    func removeAll() { count = 0 }

    @inline(__always)
    func push(_ key: Float, _ node: Int32) {
        if count == capacity { grow() }
        let e = storage
        var child = count
        count += 1
        while child > 0 {
            let parent = (child - 1) >> 1
            guard e[parent].key < key else { break }
            e[child] = e[parent]
            child = parent
        }
        e[child] = Entry(key: key, node: node)
    }

    @inline(__always)
    @discardableResult
    func pop() -> (key: Float, node: Int32) {
        let e = storage
        let top = e[0]
        count -= 1
        let n = count, last = e[n]
        if n > 0 {
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

    private func grow() {
        let bigger = UnsafeMutablePointer<Entry>.allocate(capacity: 2 * capacity)
        bigger.moveInitialize(from: storage, count: count)
        storage.deallocate()
        storage = bigger
        capacity *= 2
    }
}

/// Marks which nodes one search has seen; a new search bumps the tag instead of clearing. Tags are
/// single bytes, so the set of a 60,000-item gallery (60 KB) stays in the core's L2 cache beside
/// the vectors; it is cleared once every 255 searches.
final class VisitedSet {
    private var tags: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var current: UInt8 = 0

    init(count: Int) {
        capacity = max(count, 1)
        tags = .allocate(capacity: capacity)
        tags.initialize(repeating: 0, count: capacity)
    }

    deinit { tags.deallocate() }

    func reset(count: Int) {
        if count > capacity {
            let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: count)
            bigger.initialize(repeating: 0, count: count)
            bigger.update(from: tags, count: capacity)
            tags.deallocate()
            tags = bigger
            capacity = count
        }
        current &+= 1
        if current == 0 {
            tags.update(repeating: 0, count: capacity)
            current = 1
        }
    }

    /// True the first time a node is seen in this search.
    @inline(__always)
    func insert(_ node: Int32) -> Bool {
        if tags[Int(node)] == current { return false }
        tags[Int(node)] = current
        return true
    }
}

/// What one graph search needs besides the graph, made once per batch of queries (or per thread)
/// and reused, so a query allocates nothing but its answer.
final class GraphSearchScratch {
    let visited: VisitedSet
    let candidates: NodeHeap
    let results: NodeHeap
    /// Unvisited neighbours of the node being expanded, gathered before their vectors are read.
    let fresh: UnsafeMutablePointer<Int32>
    /// Their similarities to the query, scored together.
    let scores: UnsafeMutablePointer<Float>

    init(nodes: Int, ef: Int, maxLinks: Int) {
        visited = VisitedSet(count: nodes)
        candidates = NodeHeap(capacity: 2 * ef)
        results = NodeHeap(capacity: ef + 1)
        fresh = .allocate(capacity: maxLinks)
        scores = .allocate(capacity: maxLinks)
    }

    deinit {
        fresh.deallocate()
        scores.deallocate()
    }
}

/// Scratch spaces kept between searches, so a single query (a server's usual request) does not
/// allocate and clear a visited set the size of the graph. Safe to use from several threads.
final class ScratchPool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [GraphSearchScratch] = []

    func take(nodes: Int, ef: Int, maxLinks: Int) -> GraphSearchScratch {
        lock.lock()
        defer { lock.unlock() }
        return free.popLast() ?? GraphSearchScratch(nodes: nodes, ef: ef, maxLinks: maxLinks)
    }

    func give(_ scratch: GraphSearchScratch) {
        lock.lock()
        defer { lock.unlock() }
        free.append(scratch)
    }
}
