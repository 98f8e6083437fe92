import Foundation
@testable import Search
import Tensors
import Testing

/// Unit vectors in `clusters` tight groups around random centres, interleaved: data with real
/// neighbourhoods, where quantisation has to keep near neighbours apart.
func clusteredVectors(_ n: Int, _ d: Int, clusters: Int, spread: Float, seed: UInt64) -> Tensor {
    var generator = RandomGenerator(seed: seed)
    let centres = (0..<(clusters * d)).map { _ in generator.nextGaussian() }
    let t = Tensor(shape: [n, d])
    for i in 0..<n {
        let c = i % clusters
        for j in 0..<d { t[i * d + j] = centres[c * d + j] + spread * generator.nextGaussian() }
        VectorMath.normalize(t.pointer + i * d, count: d)
    }
    return t
}

@Suite("Compressed indexes")
struct CompressedIndexTests {
    let n = 4000, d = 32
    let base = clusteredVectors(4000, 32, clusters: 40, spread: 0.35, seed: 31)
    let queries = clusteredVectors(300, 32, clusters: 40, spread: 0.35, seed: 32)

    func flat(removing removed: Set<Int> = []) -> FlatIndex {
        let index = FlatIndex(dimension: d)
        index.add(ids: Array(0..<n), vectors: base.pointer)
        index.remove(ids: Array(removed))
        return index
    }

    @Test func sq8ScoresMatchThePlainDecodingAndReachRecallFloors() {
        let index = SQ8Index(dimension: d)
        index.add(ids: Array(0..<n), vectors: base.pointer)
        let query = rows(queries, 0..<1)
        for row in [0, 17, 3999] {
            let fast = SQ8Index.dot(query.map { $0 }.enumerated().map { $0.element * index.step[$0.offset] }, codes(index, row: row), count: d)
                + zip(query, index.minimum).reduce(0) { $0 + $1.0 * $1.1 }
            #expect(abs(fast - index.referenceSimilarity(query, row: row)) < 1e-4)
        }
        let exact = flat().search(queries, k: 10)
        let approximate = recall(index.search(queries, k: 10), exact, k: 10)
        index.exactSource = flat()
        let reranked = index.search(queries, k: 10)
        #expect(approximate >= 0.85, "sq8 without re-ranking: recall@10 \(approximate)")
        #expect(recall(reranked, exact, k: 10) >= 0.99, "sq8 re-ranked: recall@10 \(recall(reranked, exact, k: 10))")
        #expect(zip(reranked, exact).allSatisfy { r, e in
            r[0].index == e[0].index && abs(r[0].similarity - e[0].similarity) < 1e-5
        }, "re-ranked similarities are the exact ones")
    }

    private func codes(_ index: SQ8Index, row: Int) -> [UInt8] {
        var writer = BinaryWriter()
        index.encode(into: &writer)
        let all = [UInt8](writer.data.suffix(index.count * d))
        return Array(all[(row * d)..<(row * d + d)])
    }

    @Test func ivfpqTableLookupsMatchThePlainDecodingAndReachRecallFloors() throws {
        let index = IVFPQIndex(dimension: d, parameters: IVFPQParameters(probe: 16, rerank: 100, seed: 3))
        index.add(ids: Array(0..<n), vectors: base.pointer)
        #expect(index.lists == Int(4 * Double(n).squareRoot()) && index.subquantizers == 16 && index.count == n)
        #expect(index.residentBytes == n * (16 + 8) + 4 * (index.lists * d + 256 * d) + 64 * index.lists,
                "16 code bytes and an id per item, plus centroids and codebooks")
        let exact = flat().search(queries, k: 10)
        let approximate = index.search(queries, k: 100)
        #expect(recall(approximate, exact, k: 10) >= 0.5, "IVF-PQ alone: recall@10 \(recall(approximate, exact, k: 10))")
        // The table-lookup scores are the decoded vectors' dot products.
        let query = rows(queries, 0..<1)
        let first = index.search(Tensor(shape: [1, d], values: query), k: 5)[0]
        for hit in first {
            let (cell, position) = try #require(index.location(of: hit.index))
            #expect(abs(hit.similarity - index.referenceSimilarity(query, cell: cell, position: position)) < 1e-4)
        }
        index.exactSource = flat()
        let reranked = recall(index.search(queries, k: 10), exact, k: 10)
        #expect(reranked >= 0.95, "IVF-PQ re-ranked: recall@10 \(reranked)")
    }

    @Test(arguments: [IndexKind.sq8, .ivfpq])
    func removedItemsAreNeverReturnedAndReaddingWorks(kind: IndexKind) throws {
        let index = try IndexSettings(kind: kind).makeIndex(dimension: d) as! any CompressedIndex
        index.add(ids: Array(0..<n), vectors: base.pointer)
        let removed = Set(stride(from: 0, to: n, by: 4))
        index.remove(ids: Array(removed))
        #expect(index.count == n - removed.count && Set(index.ids) == Set(0..<n).subtracting(removed))
        index.exactSource = flat(removing: removed)
        let hits = index.search(queries, k: 10)
        #expect(hits.allSatisfy { $0.count == 10 && $0.allSatisfy { !removed.contains($0.index) } })
        #expect(recall(hits, flat(removing: removed).search(queries, k: 10), k: 10) >= 0.9)
        index.add(ids: [0], vectors: base.pointer)
        index.exactSource = flat(removing: removed.subtracting([0]))
        #expect(index.search(Tensor(shape: [1, d], values: rows(base, 0..<1)), k: 1)[0].first?.index == 0)
    }

    @Test func aMemoryBudgetPicksTheCodeSize() throws {
        #expect(MemoryBudget.parse("512MB") == 512 << 20 && MemoryBudget.parse("2 GiB") == 2 << 30 && MemoryBudget.parse("1000") == 1000)
        #expect(MemoryBudget.parse("lots") == nil && MemoryBudget.parse("-3MB") == nil)
        // Not numbers, or past Int's range: refused, never a trap converting them.
        #expect(MemoryBudget.parse("infGB") == nil && MemoryBudget.parse("nanMB") == nil && MemoryBudget.parse("1e300GB") == nil)
        let settings = IndexSettings(kind: .ivfpq)
        // 1M items of 64 values: 48 bytes an item leaves 40 for codes after the id, so 32 sub-quantisers.
        let roomy = try MemoryBudget.fit(settings, budget: 48_000_000, count: 1_000_000, dimension: 64)
        #expect(roomy.subquantizers == 32)
        let tight = try MemoryBudget.fit(settings, budget: 26_000_000, count: 1_000_000, dimension: 64)
        #expect(tight.subquantizers == 16)
        #expect(throws: MemoryBudget.TooSmall.self) { try MemoryBudget.fit(settings, budget: 8_000_000, count: 1_000_000, dimension: 64) }
        #expect(throws: MemoryBudget.TooSmall.self) { try MemoryBudget.fit(IndexSettings(kind: .sq8), budget: 48_000_000, count: 1_000_000, dimension: 64) }
        #expect(try MemoryBudget.fit(IndexSettings(kind: .sq8), budget: 80_000_000, count: 1_000_000, dimension: 64).kind == .sq8)
    }
}

