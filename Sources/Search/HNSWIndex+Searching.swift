import CPrefetch
import CVectorKernels
import Foundation
import Tensors

/// The greedy walk down the upper layers and the best-first search of the base layer.
extension HNSWIndex {
    public func search(_ queries: Tensor, k: Int) -> [[SearchHit]] {
        precondition(queries.shape.count == 2 && queries.shape[1] == dimension, "queries must be [Q, \(dimension)], got \(queries.shape)")
        let q = queries.shape[0]
        guard liveCount > 0, k > 0 else { return Array(repeating: [], count: q) }
        // Never more candidates than nodes: the answer is the same, and an efSearch or k from a
        // file or a request cannot size a heap past the index.
        let ef = min(max(parameters.efSearch, k), nodeIDs.count)
        return QueryBatch.map(q) { rows in
            let scratch = scratchPool.take(nodes: nodeIDs.count, ef: ef, maxLinks: baseCapacity)
            defer { scratchPool.give(scratch) }
            return rows.map { row in searchOne(queries.pointer + row * dimension, k: k, ef: ef, scratch: scratch) }
        }
    }

    func searchOne(_ query: UnsafePointer<Float>, k: Int, ef: Int, scratch: GraphSearchScratch) -> [SearchHit] {
        var current = entry
        var currentSimilarity = similarity(query, current)
        if topLevel > 0 {
            for l in stride(from: topLevel, to: 0, by: -1) { greedyStep(query, &current, &currentSimilarity, level: l, scratch: scratch) }
        }
        searchLayer(query, entry: current, entrySimilarity: currentSimilarity, ef: ef, level: 0, scratch: scratch, returnDeleted: false)
        // The results heap pops worst first; keep the best k, best first.
        while scratch.results.count > k { scratch.results.pop() }
        var hits = [SearchHit](repeating: SearchHit(index: 0, similarity: 0), count: scratch.results.count)
        var i = hits.count
        while !scratch.results.isEmpty {
            let (key, node) = scratch.results.pop()
            i -= 1
            hits[i] = SearchHit(index: nodeIDs[Int(node)], similarity: -key)
        }
        return hits
    }

    /// The results heap emptied into an array, best first.
    static func drainBestFirst(_ results: NodeHeap) -> [(similarity: Float, node: Int32)] {
        var sorted = [(similarity: Float, node: Int32)](repeating: (0, 0), count: results.count)
        var i = sorted.count
        while !results.isEmpty {
            let (key, node) = results.pop()
            i -= 1
            sorted[i] = (-key, node)
        }
        return sorted
    }

    /// Moves to the most similar neighbour on `level` until none is more similar.
    func greedyStep(_ query: UnsafePointer<Float>, _ current: inout Int32, _ currentSimilarity: inout Float, level: Int,
                            scratch: GraphSearchScratch) {
        let scores = scratch.scores, start = (level - 1) * upperStride
        var changed = true
        while changed {
            changed = false
            let from = current
            upper[Int(from)].withUnsafeBufferPointer { list in
                let count = Int(list[start])
                akin_dot_gather(query, vectors.pointer, list.baseAddress! + start + 1, count, dimension, scores)
                for i in 0..<count where scores[i] > currentSimilarity {
                    currentSimilarity = scores[i]
                    current = list[start + 1 + i]
                    changed = true
                }
            }
        }
    }

    /// Best-first search of one layer keeping the `ef` best in `scratch.results` (keyed by −similarity,
    /// so the root is the worst kept). Removed nodes are walked through but, unless `returnDeleted`,
    /// not kept (hnswlib's way).
    func searchLayer(_ query: UnsafePointer<Float>, entry start: Int32, entrySimilarity: Float, ef: Int, level: Int,
                             scratch: GraphSearchScratch, returnDeleted: Bool) {
        // Local references: the loop then touches no reference counts.
        let visited = scratch.visited, candidates = scratch.candidates, results = scratch.results
        let fresh = scratch.fresh, scores = scratch.scores
        visited.reset(count: nodeIDs.count)
        candidates.removeAll()
        results.removeAll()
        let hasDeletions = !returnDeleted && liveCount < nodeIDs.count
        _ = visited.insert(start)
        candidates.push(entrySimilarity, start)
        if returnDeleted || !deleted[Int(start)] { results.push(-entrySimilarity, start) }
        var bound = results.isEmpty ? -Float.infinity : entrySimilarity
        let d = dimension, v = UnsafePointer(vectors.pointer), links = UnsafePointer(base.pointer), stride = baseStride
        while !candidates.isEmpty {
            let (candidateSimilarity, node) = candidates.pop()
            if candidateSimilarity < bound && (results.count == ef || !hasDeletions) { break }
            // First the neighbours not seen yet, asking for their vectors as they are found;
            // then their similarities, by which time the first vectors are on their way in.
            var freshCount = 0
            withLinks(of: node, level: level, base: links) { neighbours, neighbourCount in
                for i in 0..<neighbourCount {
                    let neighbour = neighbours[i]
                    guard visited.insert(neighbour) else { continue }
                    let vector = v + Int(neighbour) * d
                    var line = 0
                    while line < d { akin_prefetch(vector + line); line += 16 }
                    fresh[freshCount] = neighbour
                    freshCount += 1
                }
            }
            akin_dot_gather(query, v, fresh, freshCount, d, scores)
            for i in 0..<freshCount {
                let neighbour = fresh[i], s = scores[i]
                if results.count < ef || s > bound {
                    candidates.push(s, neighbour)
                    // A node good enough to queue is likely to be expanded soon: ask for its links now.
                    if level == 0 { akin_prefetch(links + Int(neighbour) * stride) }
                    if !hasDeletions || !deleted[Int(neighbour)] {
                        results.push(-s, neighbour)
                        if results.count > ef { results.pop() }
                    }
                    if !results.isEmpty { bound = -results.topKey }
                }
            }
        }
    }

    /// A node's neighbours on a level, read in place: the base layer from `base`, upper ones from the node's own list.
    @inline(__always)
    func withLinks(of node: Int32, level: Int, base: UnsafePointer<Int32>, _ body: (UnsafePointer<Int32>, Int) -> Void) {
        if level == 0 {
            let start = Int(node) * baseStride
            body(base + start + 1, Int(base[start]))
        } else {
            upper[Int(node)].withUnsafeBufferPointer { list in
                let start = (level - 1) * upperStride
                body(list.baseAddress! + start + 1, Int(list[start]))
            }
        }
    }

    @inline(__always)
    func similarity(_ query: UnsafePointer<Float>, _ node: Int32) -> Float {
        VectorMath.dot(query, vectors.pointer + Int(node) * dimension, count: dimension)
    }

    @inline(__always)
    func similarity(_ a: Int32, _ b: Int32) -> Float {
        VectorMath.dot(vectors.pointer + Int(a) * dimension, vectors.pointer + Int(b) * dimension, count: dimension)
    }
}
