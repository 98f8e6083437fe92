import Foundation
import Tensors

/// Settings of an inverted-file index with product-quantised codes.
public struct IVFPQParameters: Sendable, Equatable {
    /// Coarse k-means cells; 0 picks 4√N (capped by N) when the index is trained.
    public var lists: Int
    /// Sub-vectors per code, one byte each; must divide the dimension. 0 picks D/2 (two values a byte).
    public var subquantizers: Int
    /// Cells searched per query.
    public var probe: Int
    /// Candidates re-ranked with exact vectors per query (at least k).
    public var rerank: Int
    public var seed: UInt64

    public init(lists: Int = 0, subquantizers: Int = 0, probe: Int = 32, rerank: Int = 128, seed: UInt64 = 42) {
        precondition(lists >= 0 && subquantizers >= 0 && probe >= 1 && rerank >= 1, "IVF-PQ needs lists, subquantizers ≥ 0 and probe, rerank ≥ 1")
        self.lists = lists
        self.subquantizers = subquantizers
        self.probe = probe
        self.rerank = rerank
        self.seed = seed
    }

    /// The sub-quantiser count D/2 or, if given, the largest divisor of D whose codes fit `bytesPerVector`
    /// (an 8-byte id each besides); nil when not even one byte a vector fits.
    public static func subquantizers(dimension d: Int, bytesPerVector: Double?) -> Int? {
        let divisors = (1...d).filter { d % $0 == 0 }
        guard let budget = bytesPerVector else { return divisors.last { $0 <= max(d / 2, 1) } }
        return divisors.last { Double($0 + MemoryLayout<Int>.stride) <= budget }
    }
}

/// IVF-PQ (Jégou, Douze & Schmid): a coarse k-means splits the gallery into cells; each vector is
/// kept as the byte codes of its residual (vector − cell centroid) under a product quantiser, one
/// 256-word codebook per sub-vector. A query scores the `probe` nearest cells' codes with one
/// lookup table per query (q·x ≈ q·centroid + Σ q_s·codeword_s, asymmetric: the query stays exact),
/// keeps the best `rerank` and re-ranks them with exact vectors from `exactSource`.
/// `referenceSimilarity` (decode, then dot) is the plain version of the table lookups, for the tests.
public final class IVFPQIndex: CompressedIndex {
    public static let kind = IndexKind.ivfpq
    public let dimension: Int
    public var parameters: IVFPQParameters
    public var exactSource: (any ExactVectorSource)?
    public private(set) var rerankFailure: RerankFailure?
    /// [lists, D] coarse centroids.
    private(set) var centroids: [Float] = []
    /// [subquantizers, codewords, D / subquantizers] codebooks of the residuals.
    private(set) var codebooks: [Float] = []
    private(set) var codewords = 0
    /// Per cell: item ids and their codes (`subquantizers` bytes each, row-major).
    private var listIDs: [[Int]] = []
    private(set) var listCodes: [[UInt8]] = []
    private var itemCount = 0

    public init(dimension: Int, parameters: IVFPQParameters = IVFPQParameters()) {
        precondition(parameters.subquantizers == 0 || dimension % parameters.subquantizers == 0,
                     "IVF-PQ sub-quantizers (\(parameters.subquantizers)) must divide the dimension (\(dimension))")
        self.dimension = dimension
        self.parameters = parameters
    }

    public var count: Int { itemCount }
    public var ids: [Int] { listIDs.flatMap { $0 } }
    public var isTrained: Bool { !centroids.isEmpty }
    var lists: Int { centroids.count / dimension }
    var subquantizers: Int { parameters.subquantizers > 0 ? parameters.subquantizers : max(dimension / 2, 1) }
    var subDimension: Int { dimension / subquantizers }
    public var residentBytes: Int {
        itemCount * (subquantizers + MemoryLayout<Int>.stride) + 4 * (centroids.count + codebooks.count) + 64 * listIDs.count
    }

    // MARK: Training

    public func train(_ vectors: UnsafePointer<Float>, count n: Int) {
        precondition(n > 0, "IVF-PQ needs vectors to train on")
        let d = dimension
        if parameters.subquantizers == 0 {
            parameters.subquantizers = IVFPQParameters.subquantizers(dimension: d, bytesPerVector: nil)!
        }
        let lists = min(parameters.lists > 0 ? parameters.lists : Int(4 * Double(n).squareRoot()), n)
        parameters.lists = lists
        var generator = RandomGenerator(seed: parameters.seed)
        // faiss's rule of thumb: a few hundred points per centroid are plenty.
        let sample = Self.sample(vectors, count: n, dimension: d, limit: max(128 * lists, 16_384), generator: &generator)
        let m = sample.shape[0]
        let coarse = KMeans(clusters: lists, restarts: 1, maxIterations: 20, seed: parameters.seed).fit(sample)
        centroids = coarse.centroids.array
        let residuals = sample.clone()
        for i in 0..<m {
            let c = coarse.centroids.pointer + coarse.assignments[i] * d
            for j in 0..<d { residuals[i * d + j] -= c[j] }
        }
        let sq = subquantizers, ds = subDimension
        codewords = min(256, m)
        codebooks = [Float](repeating: 0, count: sq * codewords * ds)
        let part = Tensor(shape: [min(m, 32_768), ds])
        for s in 0..<sq {
            for i in 0..<part.shape[0] {
                for t in 0..<ds { part[i * ds + t] = residuals[i * d + s * ds + t] }
            }
            let words = KMeans(clusters: codewords, restarts: 1, maxIterations: 20, seed: parameters.seed &+ UInt64(s)).fit(part)
            for t in 0..<(codewords * ds) { codebooks[s * codewords * ds + t] = words.centroids[t] }
        }
        listIDs = Array(repeating: [], count: lists)
        listCodes = Array(repeating: [], count: lists)
    }

    /// Up to `limit` rows drawn without replacement (all of them when there are fewer).
    static func sample(_ vectors: UnsafePointer<Float>, count n: Int, dimension d: Int, limit: Int, generator: inout RandomGenerator) -> Tensor {
        var order = Array(0..<n)
        let m = min(n, limit)
        if m < n {
            for i in 0..<m { order.swapAt(i, i + generator.nextInt(below: n - i)) }
        }
        let out = Tensor(shape: [m, d])
        for i in 0..<m { (out.pointer + i * d).update(from: vectors + order[i] * d, count: d) }
        return out
    }

    /// ‖c‖² of each cell centroid, for the nearest-cell rule ‖x − c‖² = ‖x‖² − 2x·c + ‖c‖².
    private func centroidNorms() -> [Float] {
        centroids.withUnsafeBufferPointer { c in (0..<lists).map { Elementwise.dot(c.baseAddress! + $0 * dimension, c.baseAddress! + $0 * dimension, count: dimension) } }
    }

    // MARK: Adding and removing

    public func add(ids new: [Int], vectors: UnsafePointer<Float>) {
        guard !new.isEmpty else { return }
        if !isTrained { train(vectors, count: new.count) }
        let d = dimension, lists = self.lists, sq = subquantizers, ds = subDimension, chunk = 4096
        let norms = centroidNorms()
        let products = Tensor(shape: [min(chunk, new.count), lists])
        var residual = [Float](repeating: 0, count: d)
        var code = [UInt8](repeating: 0, count: sq)
        var start = 0
        while start < new.count {
            let rows = min(chunk, new.count - start)
            centroids.withUnsafeBufferPointer { c in
                gemm(transposeB: true, m: rows, n: lists, k: d, a: vectors + start * d, b: c.baseAddress!, c: products.pointer)
            }
            for i in 0..<rows {
                let x = vectors + (start + i) * d, p = products.pointer + i * lists
                var cell = 0, best = Float.infinity
                for l in 0..<lists where norms[l] - 2 * p[l] < best { best = norms[l] - 2 * p[l]; cell = l }
                for j in 0..<d { residual[j] = x[j] - centroids[cell * d + j] }
                codebooks.withUnsafeBufferPointer { books in
                    for s in 0..<sq {
                        let book = books.baseAddress! + s * codewords * ds
                        var word = 0, nearest = Float.infinity
                        for w in 0..<codewords {
                            var distance: Float = 0
                            for t in 0..<ds { let e = residual[s * ds + t] - book[w * ds + t]; distance += e * e }
                            if distance < nearest { nearest = distance; word = w }
                        }
                        code[s] = UInt8(word)
                    }
                }
                listIDs[cell].append(new[start + i])
                listCodes[cell].append(contentsOf: code)
            }
            start += rows
        }
        itemCount += new.count
    }

    public func remove(ids gone: [Int]) {
        let removing = Set(gone), sq = subquantizers
        for l in listIDs.indices {
            var i = 0
            while i < listIDs[l].count {
                if removing.contains(listIDs[l][i]) {
                    let last = listIDs[l].count - 1
                    if i != last {
                        listIDs[l][i] = listIDs[l][last]
                        for s in 0..<sq { listCodes[l][i * sq + s] = listCodes[l][last * sq + s] }
                    }
                    listIDs[l].removeLast()
                    listCodes[l].removeLast(sq)
                    itemCount -= 1
                } else {
                    i += 1
                }
            }
        }
    }

    // MARK: Searching

    public func search(_ queries: Tensor, k: Int) -> [[SearchHit]] {
        rerankFailure = nil
        precondition(queries.shape.count == 2 && queries.shape[1] == dimension, "queries must be [Q, \(dimension)], got \(queries.shape)")
        let q = queries.shape[0]
        guard itemCount > 0, k > 0 else { return Array(repeating: [], count: q) }
        let d = dimension, lists = self.lists, sq = subquantizers, ds = subDimension, words = codewords
        let norms = centroidNorms()
        let depth = min(max(parameters.rerank, k), itemCount), probe = min(parameters.probe, lists)
        let candidates = QueryBatch.map(q) { part in
            var table = [Float](repeating: 0, count: sq * words)
            var cellScores = [Float](repeating: 0, count: lists)
            var cells = TopK(k: probe)
            var top = TopK(k: depth)
            return centroids.withUnsafeBufferPointer { c in
                codebooks.withUnsafeBufferPointer { books in
                    table.withUnsafeMutableBufferPointer { table in
                        part.map { row in
                            let query = queries.pointer + row * d
                            cells.reset()
                            for l in 0..<lists {
                                cellScores[l] = VectorMath.dot(query, c.baseAddress! + l * d, count: d)
                                // The cells nearest in Euclidean distance, as items were assigned.
                                cells.offer(SearchHit(index: l, similarity: 2 * cellScores[l] - norms[l]))
                            }
                            for s in 0..<sq {
                                for w in 0..<words {
                                    table[s * words + w] = VectorMath.dot(query + s * ds, books.baseAddress! + (s * words + w) * ds, count: ds)
                                }
                            }
                            top.reset()
                            var bound = top.bound
                            for cell in cells.heap {
                                let l = cell.index, base = cellScores[l]
                                listCodes[l].withUnsafeBufferPointer { codes in
                                    listIDs[l].withUnsafeBufferPointer { ids in
                                        for i in 0..<ids.count {
                                            let code = codes.baseAddress! + i * sq
                                            var s = base
                                            for t in 0..<sq { s += table[t * words + Int(code[t])] }
                                            if s >= bound {
                                                top.offer(SearchHit(index: ids[i], similarity: s))
                                                bound = top.bound
                                            }
                                        }
                                    }
                                }
                            }
                            return top.sorted()
                        }
                    }
                }
            }
        }
        return Reranking.rerank(queries, candidates: candidates, k: k, source: exactSource, failure: &rerankFailure)
    }

    /// Where an item is kept: its cell and position there.
    func location(of id: Int) -> (cell: Int, position: Int)? {
        for l in listIDs.indices { if let i = listIDs[l].firstIndex(of: id) { return (l, i) } }
        return nil
    }

    // MARK: Files

    public func encode(into writer: inout BinaryWriter) {
        writer.write(UInt32(parameters.lists))
        writer.write(UInt32(parameters.subquantizers))
        writer.write(UInt32(parameters.probe))
        writer.write(UInt32(parameters.rerank))
        writer.write(parameters.seed)
        writer.write(UInt32(codewords))
        writer.write(array: centroids)
        writer.write(array: codebooks)
        writer.write(UInt64(listIDs.count))
        for l in listIDs.indices {
            writer.write(array: listIDs[l].map(Int64.init))
            writer.write(array: listCodes[l])
        }
    }

    public static func decode(from reader: inout BinaryReader, dimension d: Int) throws -> IVFPQIndex {
        let lists = Int(try reader.read(UInt32.self)), sq = Int(try reader.read(UInt32.self))
        let probe = Int(try reader.read(UInt32.self)), rerank = Int(try reader.read(UInt32.self))
        let seed = try reader.read(UInt64.self), codewords = Int(try reader.read(UInt32.self))
        guard sq == 0 || d % sq == 0, probe >= 1, rerank >= 1, codewords <= 256 else { throw IndexFileError.truncated }
        let index = IVFPQIndex(dimension: d, parameters: IVFPQParameters(lists: lists, subquantizers: sq, probe: probe, rerank: rerank, seed: seed))
        index.codewords = codewords
        index.centroids = try reader.readArray(of: Float.self)
        index.codebooks = try reader.readArray(of: Float.self)
        let cells = try reader.readCount(limit: lists)
        // Untrained (an empty gallery): no centroids, no codebooks, no cells.
        let trained = !index.centroids.isEmpty
        guard trained ? (sq >= 1 && lists >= 1 && index.centroids.count == lists * d && index.codebooks.count == codewords * d && cells == lists)
                      : (index.codebooks.isEmpty && cells == 0)
        else { throw IndexFileError.truncated }
        var seen = Set<Int>()
        for _ in 0..<cells {
            let ids = try reader.readArray(of: Int64.self).map(Int.init)
            let codes = try reader.readArray(of: UInt8.self)
            // A code past the codebook would read outside the lookup table.
            guard codes.count == ids.count * sq, codes.allSatisfy({ Int($0) < codewords }) else { throw IndexFileError.truncated }
            guard ids.allSatisfy({ $0 >= 0 }) else { throw IndexFileError.malformed("a negative item id") }
            for id in ids { guard seen.insert(id).inserted else { throw IndexFileError.truncated } }
            index.listIDs.append(ids)
            index.listCodes.append(codes)
        }
        index.itemCount = seen.count
        return index
    }
}
