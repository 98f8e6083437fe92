import Foundation
import Tensors

/// HNSW written plainly — nested arrays of links, a Set for visited nodes, sorted arrays for the
/// queues, a scalar dot product — to check `HNSWIndex` against. Same level draws, same neighbour
/// heuristic, same removal by mark; slow, and not for use outside the tests.
public final class ReferenceHNSW {
    public let dimension: Int
    public let parameters: HNSWParameters
    private var generator: RandomGenerator
    private var vectors: [[Float]] = []
    private var itemIDs: [Int] = []
    private var removed: Set<Int> = []
    /// links[node][level] lists the node's neighbours on that level.
    private var links: [[[Int]]] = []
    private var entry = -1
    private var topLevel = -1

    public init(dimension: Int, parameters: HNSWParameters = HNSWParameters()) {
        self.dimension = dimension
        self.parameters = parameters
        self.generator = RandomGenerator(seed: parameters.seed)
    }

    private func dot(_ a: [Float], _ b: [Float]) -> Float {
        var sum: Float = 0
        for i in 0..<a.count { sum += a[i] * b[i] }
        return sum
    }

    public func add(id: Int, vector: [Float]) {
        let node = vectors.count
        vectors.append(vector)
        itemIDs.append(id)
        let u = Double(generator.next() >> 11) * 0x1p-53
        let level = min(Int(-log(max(u, 1e-300)) / log(Double(parameters.m))), 32)
        links.append(Array(repeating: [], count: level + 1))
        guard entry >= 0 else {
            entry = node
            topLevel = level
            return
        }
        var current = entry
        if topLevel > level {
            for l in stride(from: topLevel, to: level, by: -1) { current = greedy(vector, from: current, level: l) }
        }
        for l in stride(from: min(level, topLevel), through: 0, by: -1) {
            let found = searchLayer(vector, from: current, ef: parameters.efConstruction, level: l, skipRemoved: false)
            let chosen = select(found, limit: parameters.m)
            links[node][l] = chosen.map(\.node)
            for neighbour in chosen {
                let capacity = l == 0 ? 2 * parameters.m : parameters.m
                if links[neighbour.node][l].count < capacity {
                    links[neighbour.node][l].append(node)
                } else {
                    let candidates = (links[neighbour.node][l] + [node])
                        .map { (similarity: dot(vectors[neighbour.node], vectors[$0]), node: $0) }
                        .sorted { $0.similarity > $1.similarity || ($0.similarity == $1.similarity && $0.node < $1.node) }
                    links[neighbour.node][l] = select(candidates, limit: capacity).map(\.node)
                }
            }
            current = found[0].node
        }
        if level > topLevel {
            entry = node
            topLevel = level
        }
    }

    public func remove(id: Int) {
        if let node = itemIDs.firstIndex(of: id) { removed.insert(node) }
    }

    public func search(_ query: [Float], k: Int) -> [SearchHit] {
        guard entry >= 0 else { return [] }
        var current = entry
        if topLevel > 0 {
            for l in stride(from: topLevel, to: 0, by: -1) { current = greedy(query, from: current, level: l) }
        }
        return searchLayer(query, from: current, ef: max(parameters.efSearch, k), level: 0, skipRemoved: true)
            .prefix(k).map { SearchHit(index: itemIDs[$0.node], similarity: $0.similarity) }
    }

    private func greedy(_ query: [Float], from start: Int, level: Int) -> Int {
        var current = start, best = dot(query, vectors[start])
        var changed = true
        while changed {
            changed = false
            for neighbour in links[current][level] where dot(query, vectors[neighbour]) > best {
                best = dot(query, vectors[neighbour])
                current = neighbour
                changed = true
            }
        }
        return current
    }

    private func searchLayer(_ query: [Float], from start: Int, ef: Int, level: Int, skipRemoved: Bool) -> [(similarity: Float, node: Int)] {
        var visited: Set<Int> = [start]
        let startSimilarity = dot(query, vectors[start])
        // Both lists kept sorted: candidates worst first (the best is popped from the end), results best first.
        var candidates = [(similarity: startSimilarity, node: start)]
        var results = skipRemoved && removed.contains(start) ? [] : candidates
        let hasRemovals = skipRemoved && !removed.isEmpty
        while let candidate = candidates.popLast() {
            let bound = results.last?.similarity ?? -.infinity
            if candidate.similarity < bound && (results.count == ef || !hasRemovals) { break }
            for neighbour in links[candidate.node][level] where !visited.contains(neighbour) {
                visited.insert(neighbour)
                let s = dot(query, vectors[neighbour])
                if results.count < ef || s > (results.last?.similarity ?? -.infinity) {
                    candidates.insert((s, neighbour), at: candidates.firstIndex { $0.similarity > s } ?? candidates.count)
                    if !(skipRemoved && removed.contains(neighbour)) {
                        results.insert((s, neighbour), at: results.firstIndex { $0.similarity < s } ?? results.count)
                        if results.count > ef { results.removeLast() }
                    }
                }
            }
        }
        return results
    }

    private func select(_ candidates: [(similarity: Float, node: Int)], limit: Int) -> [(similarity: Float, node: Int)] {
        guard candidates.count > limit else { return candidates }
        var chosen: [(similarity: Float, node: Int)] = []
        for candidate in candidates where chosen.count < limit {
            if chosen.allSatisfy({ dot(vectors[candidate.node], vectors[$0.node]) <= candidate.similarity }) {
                chosen.append(candidate)
            }
        }
        return chosen
    }
}
