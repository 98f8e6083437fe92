import CVectorKernels

/// One search result: a gallery row and its cosine similarity to the query.
public struct SearchHit: Sendable, Equatable {
    public var index: Int
    public var similarity: Float

    public init(index: Int, similarity: Float) {
        self.index = index
        self.similarity = similarity
    }

    /// Higher similarity first; equal similarities in gallery order, so results are deterministic.
    @inline(__always)
    static func ranksBefore(_ a: SearchHit, _ b: SearchHit) -> Bool {
        a.similarity > b.similarity || (a.similarity == b.similarity && a.index < b.index)
    }
}

/// Keeps the k best hits seen so far in a binary heap whose root is the worst of them, so each
/// candidate costs one comparison unless it gets in.
struct TopK {
    let k: Int
    private(set) var heap: [SearchHit] = []

    init(k: Int) {
        self.k = k
        heap.reserveCapacity(k)
    }

    @inline(__always)
    mutating func offer(_ hit: SearchHit) {
        guard k > 0 else { return }
        if heap.count < k {
            heap.append(hit)
            siftUp(heap.count - 1)
        } else if SearchHit.ranksBefore(hit, heap[0]) {
            heap[0] = hit
            siftDown(0)
        }
    }

    /// A hit must reach this similarity to get in (it may still lose a tie on gallery order): lets a
    /// scan skip most candidates with one comparison, no call.
    @inline(__always)
    var bound: Float { heap.count < k ? -.infinity : heap[0].similarity }

    /// Offers `scores[j]` as row `firstRow + j` for each j below `count`. The kernel skips the
    /// scores under the bound eight at a time; once the heap is full, almost all are.
    @inline(__always)
    mutating func offer(scores: UnsafePointer<Float>, count: Int, firstRow: Int) {
        var j = 0
        while true {
            j += akin_first_at_least(scores + j, count - j, bound)
            if j >= count { return }
            offer(SearchHit(index: firstRow + j, similarity: scores[j]))
            j += 1
        }
    }

    /// Best first.
    func sorted() -> [SearchHit] { heap.sorted(by: SearchHit.ranksBefore) }

    mutating func reset() { heap.removeAll(keepingCapacity: true) }

    // The heap orders by "worse first": parent ranks after its children.
    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard SearchHit.ranksBefore(heap[parent], heap[child]) else { return }
            heap.swapAt(parent, child)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1, right = left + 1
            var worst = parent
            if left < heap.count && SearchHit.ranksBefore(heap[worst], heap[left]) { worst = left }
            if right < heap.count && SearchHit.ranksBefore(heap[worst], heap[right]) { worst = right }
            if worst == parent { return }
            heap.swapAt(parent, worst)
            parent = worst
        }
    }
}
