import CPrefetch
import CVectorKernels
import Foundation
import Tensors

/// Build and search settings of a hierarchical navigable small world graph (Malkov & Yashunin).
public struct HNSWParameters: Sendable, Equatable {
    /// Links per node on the upper layers; the base layer keeps up to 2M.
    public var m: Int
    /// Candidates kept while linking a new node: larger builds slower and finds better links.
    public var efConstruction: Int
    /// Candidates kept while searching (at least k): larger is slower and more exact.
    public var efSearch: Int
    /// Seeds the layer draws, so the same items added in the same order build the same graph.
    public var seed: UInt64

    public init(m: Int = 16, efConstruction: Int = 200, efSearch: Int = 64, seed: UInt64 = 42) {
        precondition(m >= 2 && efConstruction >= 1 && efSearch >= 1, "HNSW needs m ≥ 2, efConstruction ≥ 1, efSearch ≥ 1")
        self.m = m
        self.efConstruction = efConstruction
        self.efSearch = efSearch
        self.seed = seed
    }
}

/// Approximate search on an HNSW graph: a greedy walk down sparse upper layers to a good entry
/// point, then a best-first search of the base layer keeping `efSearch` candidates. Items are
/// added one at a time (incremental); a removed item is marked and still routes searches but is
/// never returned. Similarities are dot products. `ReferenceHNSW` is the same algorithm written
/// plainly, for the tests.
public final class HNSWIndex: VectorIndex {
    public static let kind = IndexKind.hnsw
    public let dimension: Int
    public var parameters: HNSWParameters
    private var generator: RandomGenerator
    /// Row-major [nodes, dimension], on huge pages like `base`: a search reads both all over.
    private let vectors = HugePageStorage<Float>()
    private var nodeIDs: [Int] = []
    private var nodeOf: [Int: Int32] = [:]
    private var deleted: [Bool] = []
    private var levels: [UInt8] = []
    /// Base-layer links, `baseStride` slots per node: the count, then up to 2M neighbours.
    private let base = HugePageStorage<Int32>()
    /// Upper-layer links of each node above level 0: per level the count, then up to M neighbours.
    private var upper: [[Int32]] = []
    private var entry: Int32 = -1
    private var topLevel = -1
    private var liveCount = 0
    private let scratchPool = ScratchPool()

    private var baseCapacity: Int { 2 * parameters.m }
    private var baseStride: Int { 2 * parameters.m + 1 }
    private var upperStride: Int { parameters.m + 1 }

    public init(dimension: Int, parameters: HNSWParameters = HNSWParameters()) {
        self.dimension = dimension
        self.parameters = parameters
        self.generator = RandomGenerator(seed: parameters.seed)
    }

    public var count: Int { liveCount }
    public var ids: [Int] { nodeIDs.indices.filter { !deleted[$0] }.map { nodeIDs[$0] } }
    var nodeCount: Int { nodeIDs.count }

    // MARK: Building

    public func add(ids: [Int], vectors new: UnsafePointer<Float>) {
        let d = dimension
        vectors.reserve(vectors.count + ids.count * d)
        base.reserve(base.count + ids.count * baseStride)
        let scratch = GraphSearchScratch(nodes: nodeIDs.count + ids.count, ef: parameters.efConstruction, maxLinks: baseCapacity)
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
    private func drawLevel() -> Int {
        let u = Double(generator.next() >> 11) * 0x1p-53
        let level = Int(-log(max(u, 1e-300)) / log(Double(parameters.m)))
        return min(level, 32)
    }

    private func insert(_ node: Int32, scratch: GraphSearchScratch) {
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
            searchLayer(query, entry: current, entrySimilarity: currentSimilarity, ef: parameters.efConstruction,
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
    private func selectNeighbours(_ candidates: [(similarity: Float, node: Int32)], limit: Int) -> [(similarity: Float, node: Int32)] {
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
    private func link(_ from: Int32, to node: Int32, similarity nodeSimilarity: Float, level: Int) {
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

    private func links(of node: Int32, level: Int) -> [Int32] {
        if level == 0 {
            let start = Int(node) * baseStride
            return Array(UnsafeBufferPointer(start: base.pointer + start + 1, count: Int(base[start])))
        }
        let start = (level - 1) * upperStride
        let list = upper[Int(node)]
        return Array(list[(start + 1)..<(start + 1 + Int(list[start]))])
    }

    private func setLinks(_ node: Int32, level: Int, _ neighbours: [Int32]) {
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

    // MARK: Searching

    public func search(_ queries: Tensor, k: Int) -> [[SearchHit]] {
        precondition(queries.shape.count == 2 && queries.shape[1] == dimension, "queries must be [Q, \(dimension)], got \(queries.shape)")
        let q = queries.shape[0]
        guard liveCount > 0, k > 0 else { return Array(repeating: [], count: q) }
        let ef = max(parameters.efSearch, k)
        return QueryBatch.map(q) { rows in
            let scratch = scratchPool.take(nodes: nodeIDs.count, ef: ef, maxLinks: baseCapacity)
            defer { scratchPool.give(scratch) }
            return rows.map { row in searchOne(queries.pointer + row * dimension, k: k, ef: ef, scratch: scratch) }
        }
    }

    private func searchOne(_ query: UnsafePointer<Float>, k: Int, ef: Int, scratch: GraphSearchScratch) -> [SearchHit] {
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
    private static func drainBestFirst(_ results: NodeHeap) -> [(similarity: Float, node: Int32)] {
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
    private func greedyStep(_ query: UnsafePointer<Float>, _ current: inout Int32, _ currentSimilarity: inout Float, level: Int,
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
    private func searchLayer(_ query: UnsafePointer<Float>, entry start: Int32, entrySimilarity: Float, ef: Int, level: Int,
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
    private func withLinks(of node: Int32, level: Int, base: UnsafePointer<Int32>, _ body: (UnsafePointer<Int32>, Int) -> Void) {
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
    private func similarity(_ query: UnsafePointer<Float>, _ node: Int32) -> Float {
        VectorMath.dot(query, vectors.pointer + Int(node) * dimension, count: dimension)
    }

    @inline(__always)
    private func similarity(_ a: Int32, _ b: Int32) -> Float {
        VectorMath.dot(vectors.pointer + Int(a) * dimension, vectors.pointer + Int(b) * dimension, count: dimension)
    }

    // MARK: Files

    public func encode(into writer: inout BinaryWriter) {
        writer.write(UInt32(parameters.m))
        writer.write(UInt32(parameters.efConstruction))
        writer.write(UInt32(parameters.efSearch))
        writer.write(parameters.seed)
        writer.write(array: generator.state)
        writer.write(Int32(entry))
        writer.write(Int32(topLevel))
        writer.write(array: nodeIDs.map(Int64.init))
        writer.write(array: deleted.map { $0 ? UInt8(1) : 0 })
        writer.write(array: levels)
        writer.write(array: vectors.array)
        writer.write(array: base.array)
        writer.write(array: upper.flatMap { $0 })
    }

    public static func decode(from reader: inout BinaryReader, dimension: Int) throws -> HNSWIndex {
        let m = Int(try reader.read(UInt32.self)), efConstruction = Int(try reader.read(UInt32.self))
        let efSearch = Int(try reader.read(UInt32.self)), seed = try reader.read(UInt64.self)
        guard m >= 2, m <= 4096, efConstruction >= 1, efSearch >= 1 else { throw IndexFileError.truncated }
        let index = HNSWIndex(dimension: dimension, parameters: HNSWParameters(m: m, efConstruction: efConstruction, efSearch: efSearch, seed: seed))
        let state = try reader.readArray(of: UInt64.self)
        guard state.count == index.generator.state.count else { throw IndexFileError.truncated }
        index.generator = RandomGenerator(state: state)
        index.entry = try reader.read(Int32.self)
        index.topLevel = Int(try reader.read(Int32.self))
        index.nodeIDs = try reader.readArray(of: Int64.self).map(Int.init)
        index.deleted = try reader.readArray(of: UInt8.self).map { $0 != 0 }
        index.levels = try reader.readArray(of: UInt8.self)
        try reader.readArray(of: Float.self).withUnsafeBufferPointer { index.vectors.append(contentsOf: $0) }
        try reader.readArray(of: Int32.self).withUnsafeBufferPointer { index.base.append(contentsOf: $0) }
        let flatUpper = try reader.readArray(of: Int32.self)
        let n = index.nodeIDs.count
        guard index.deleted.count == n, index.levels.count == n, index.vectors.count == n * dimension,
              index.base.count == n * index.baseStride, Int(index.entry) < n, index.entry >= (n > 0 ? 0 : -1),
              index.topLevel == (n > 0 ? Int(index.levels[Int(index.entry)]) : -1)
        else { throw IndexFileError.truncated }
        var offset = 0
        index.upper.reserveCapacity(n)
        for level in index.levels {
            let size = Int(level) * index.upperStride
            guard offset + size <= flatUpper.count else { throw IndexFileError.truncated }
            index.upper.append(Array(flatUpper[offset..<(offset + size)]))
            offset += size
        }
        guard offset == flatUpper.count else { throw IndexFileError.truncated }
        // Every link must name a node, so a damaged file that passed the checksum cannot send a search out of bounds.
        for node in 0..<n {
            let start = node * index.baseStride
            guard (0...index.baseCapacity).contains(Int(index.base[start])),
                  index.base.buffer[(start + 1)...(start + index.baseCapacity)].allSatisfy({ (0..<Int32(n)).contains($0) })
            else { throw IndexFileError.truncated }
            for level in 0..<Int(index.levels[node]) {
                let list = index.upper[node], first = level * index.upperStride
                guard (0...index.parameters.m).contains(Int(list[first])),
                      list[(first + 1)..<(first + index.upperStride)].allSatisfy({ (0..<Int32(n)).contains($0) })
                else { throw IndexFileError.truncated }
            }
        }
        for (node, id) in index.nodeIDs.enumerated() {
            guard index.nodeOf.updateValue(Int32(node), forKey: id) == nil else { throw IndexFileError.truncated }
        }
        index.liveCount = index.deleted.lazy.filter { !$0 }.count
        return index
    }
}
