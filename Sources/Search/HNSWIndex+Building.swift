import CPrefetch
import CVectorKernels
import Foundation
import Tensors

/// Adding and removing items: each new node drawn a level and linked by the heuristic of the HNSW paper.
extension HNSWIndex {
    public func add(ids: [Int], vectors new: UnsafePointer<Float>) {
        let d = dimension
        vectors.reserve(vectors.count + ids.count * d)
        base.reserve(base.count + ids.count * baseStride)
        let scratch = GraphSearchScratch(nodes: nodeIDs.count + ids.count, ef: min(parameters.efConstruction, nodeIDs.count + ids.count),
                                         maxLinks: baseCapacity)
        for (i, id) in ids.enumerated() {
            precondition(nodeOf[id] == nil, "item \(id) is already in the index")
            let node = Int32(nodeIDs.count)
            vectors.append(contentsOf: UnsafeBufferPointer(start: new + i * d, count: d))
            nodeIDs.append(id)
            nodeOf[id] = node
            deleted.append(false)
            liveCount += 1
            insert(node, scratch: scratch)
        }
    }

    /// Marks items removed: they keep routing searches (so the graph stays connected) but are never returned.
    public func remove(ids: [Int]) {
        for id in ids {
            guard let node = nodeOf[id], !deleted[Int(node)] else { continue }
            deleted[Int(node)] = true
            liveCount -= 1
        }
    }

    /// Levels fall off geometrically by 1/M per level, as in the paper (mL = 1/ln M).
    func drawLevel() -> Int {
        let u = Double(generator.next() >> 11) * 0x1p-53
        let level = Int(-log(max(u, 1e-300)) / log(Double(parameters.m)))
        return min(level, 32)
    }

    func insert(_ node: Int32, scratch: GraphSearchScratch) {
        let level = drawLevel()
        levels.append(UInt8(level))
        base.append(repeating: 0, count: baseStride)
        upper.append(level > 0 ? [Int32](repeating: 0, count: level * upperStride) : [])
        guard entry >= 0 else {
            entry = node
            topLevel = level
            return
        }
        // The node's own row is the query; rows do not move while links change (`add` reserved them).
        let query = UnsafePointer(vectors.pointer + Int(node) * dimension)
        var current = entry
        var currentSimilarity = similarity(query, current)
        if topLevel > level {
            for l in stride(from: topLevel, to: level, by: -1) {
                greedyStep(query, &current, &currentSimilarity, level: l, scratch: scratch)
            }
        }
        for l in stride(from: min(level, topLevel), through: 0, by: -1) {
            searchLayer(query, entry: current, entrySimilarity: currentSimilarity, ef: min(parameters.efConstruction, nodeIDs.count),
                        level: l, scratch: scratch, returnDeleted: true)
            let found = Self.drainBestFirst(scratch.results)
            let chosen = selectNeighbours(found, limit: parameters.m)
            setLinks(node, level: l, chosen.map { $0.node })
            for neighbour in chosen { link(neighbour.node, to: node, similarity: neighbour.similarity, level: l) }
            current = found[0].node
            currentSimilarity = found[0].similarity
        }
        if level > topLevel {
            entry = node
            topLevel = level
        }
    }

    /// hnswlib's heuristic: take candidates best first, skipping one that is more similar to an
    /// already chosen neighbour than to the new node, so links spread in different directions.
    func selectNeighbours(_ candidates: [(similarity: Float, node: Int32)], limit: Int) -> [(similarity: Float, node: Int32)] {
        guard candidates.count > limit else { return candidates }
        var chosen: [(similarity: Float, node: Int32)] = []
        chosen.reserveCapacity(limit)
        for candidate in candidates {
            var keep = true
            for other in chosen where similarity(candidate.node, other.node) > candidate.similarity {
                keep = false
                break
            }
            if keep {
                chosen.append(candidate)
                if chosen.count == limit { break }
            }
        }
        return chosen
    }

    /// Adds the back link neighbour → node; a full neighbour list is re-chosen by the heuristic.
    func link(_ from: Int32, to node: Int32, similarity nodeSimilarity: Float, level: Int) {
        var current = links(of: from, level: level)
        let capacity = level == 0 ? baseCapacity : parameters.m
        if current.count < capacity {
            current.append(node)
        } else {
            var candidates = current.map { (similarity: similarity(from, $0), node: $0) }
            candidates.append((nodeSimilarity, node))
            candidates.sort { $0.similarity > $1.similarity || ($0.similarity == $1.similarity && $0.node < $1.node) }
            current = selectNeighbours(candidates, limit: capacity).map { $0.node }
        }
        setLinks(from, level: level, current)
    }

    func links(of node: Int32, level: Int) -> [Int32] {
        if level == 0 {
            let start = Int(node) * baseStride
            return Array(UnsafeBufferPointer(start: base.pointer + start + 1, count: Int(base[start])))
        }
        let start = (level - 1) * upperStride
        let list = upper[Int(node)]
        return Array(list[(start + 1)..<(start + 1 + Int(list[start]))])
    }

    func setLinks(_ node: Int32, level: Int, _ neighbours: [Int32]) {
        if level == 0 {
            let start = Int(node) * baseStride
            base[start] = Int32(neighbours.count)
            for (i, n) in neighbours.enumerated() { base[start + 1 + i] = n }
        } else {
            let start = (level - 1) * upperStride
            upper[Int(node)][start] = Int32(neighbours.count)
            for (i, n) in neighbours.enumerated() { upper[Int(node)][start + 1 + i] = n }
        }
    }
}
