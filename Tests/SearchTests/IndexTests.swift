import Foundation
@testable import Search
import Tensors
import Testing

/// Mean share of the exact top k that an index's top k holds.
func recall(_ found: [[SearchHit]], _ exact: [[SearchHit]], k: Int) -> Double {
    let overlap = zip(found, exact).map { f, e in Set(f.prefix(k).map(\.index)).intersection(e.prefix(k).map(\.index)).count }
    return Double(overlap.reduce(0, +)) / Double(exact.count * k)
}

func rows(_ t: Tensor, _ range: Range<Int>) -> [Float] {
    let d = t.shape[1]
    return Array(t.array[(range.lowerBound * d)..<(range.upperBound * d)])
}

@Suite("Vector indexes")
struct IndexTests {
    let n = 2000, d = 16
    let base = unitVectors(2000, 16, seed: 11)
    let queries = unitVectors(200, 16, seed: 12)

    /// Sorting every similarity: the definition the exact index must match.
    func bruteForce(_ ids: [Int], _ vectors: [Float], _ query: UnsafePointer<Float>, k: Int) -> [Int] {
        var scored: [(id: Int, similarity: Float)] = []
        for i in ids.indices {
            var s: Float = 0
            for j in 0..<d { s += query[j] * vectors[i * d + j] }
            scored.append((ids[i], s))
        }
        return scored.sorted { $0.similarity > $1.similarity }.prefix(k).map(\.id)
    }

    @Test func flatEqualsSortingEverySimilarityAfterRemovals() {
        let index = FlatIndex(dimension: d)
        index.tileRows = 128 // several tiles, and a last partial one
        index.queryBlock = 7
        let ids = Array(0..<500).map { $0 * 3 + 1 }
        index.add(ids: ids, vectors: rows(base, 0..<500))
        index.remove(ids: [1, 4, 1498, 999_999])
        var keptIDs: [Int] = [], kept: [Float] = []
        for (i, id) in ids.enumerated() where ![1, 4, 1498].contains(id) {
            keptIDs.append(id)
            kept.append(contentsOf: rows(base, i..<(i + 1)))
        }
        #expect(index.count == 497 && Set(index.ids) == Set(keptIDs))
        let batch = Tensor(shape: [20, d], values: rows(queries, 0..<20))
        let hits = index.search(batch, k: 10)
        for q in 0..<20 {
            let expected = bruteForce(keptIDs, kept, batch.pointer + q * d, k: 10)
            #expect(hits[q].map(\.index) == expected)
            let single = index.search(Tensor(shape: [1, d], values: rows(batch, q..<(q + 1))), k: 10)[0]
            #expect(single.map(\.index) == expected)
        }
    }

    func exact(k: Int = 10, removing removed: Set<Int> = []) -> [[SearchHit]] {
        let flat = FlatIndex(dimension: d)
        flat.add(ids: Array(0..<n), vectors: base.pointer)
        flat.remove(ids: Array(removed))
        return flat.search(queries, k: k)
    }

    @Test func hnswReachesRecallFloorAndMatchesTheReference() {
        let parameters = HNSWParameters(m: 10, efConstruction: 60, efSearch: 64, seed: 5)
        let fast = HNSWIndex(dimension: d, parameters: parameters)
        fast.add(ids: Array(0..<n), vectors: base.pointer)
        let plain = ReferenceHNSW(dimension: d, parameters: parameters)
        for i in 0..<n { plain.add(id: i, vector: rows(base, i..<(i + 1))) }
        let truth = exact()
        let fastHits = fast.search(queries, k: 10)
        let plainHits = (0..<queries.shape[0]).map { plain.search(rows(queries, $0..<($0 + 1)), k: 10) }
        let fastRecall = recall(fastHits, truth, k: 10), plainRecall = recall(plainHits, truth, k: 10)
        #expect(fastRecall >= 0.95, "HNSW recall@10 \(fastRecall)")
        #expect(plainRecall >= 0.95, "reference HNSW recall@10 \(plainRecall)")
        #expect(recall(fastHits, plainHits, k: 10) >= 0.97, "the fast and plain graphs answer alike")
        #expect(fastHits.allSatisfy { zip($0, $0.dropFirst()).allSatisfy { $0.similarity >= $1.similarity } })
    }

    @Test func hnswBuildIsDeterministicAndIncremental() {
        let parameters = HNSWParameters(m: 8, efConstruction: 50, efSearch: 32, seed: 9)
        let once = HNSWIndex(dimension: d, parameters: parameters)
        once.add(ids: Array(0..<1000), vectors: base.pointer)
        let inTwo = HNSWIndex(dimension: d, parameters: parameters)
        inTwo.add(ids: Array(0..<400), vectors: base.pointer)
        inTwo.add(ids: Array(400..<1000), vectors: base.pointer + 400 * d)
        var a = BinaryWriter(), b = BinaryWriter()
        once.encode(into: &a)
        inTwo.encode(into: &b)
        #expect(a.data == b.data, "adding in two batches builds the same graph as in one")
        let otherSeed = HNSWIndex(dimension: d, parameters: HNSWParameters(m: 8, efConstruction: 50, efSearch: 32, seed: 10))
        otherSeed.add(ids: Array(0..<1000), vectors: base.pointer)
        var c = BinaryWriter()
        otherSeed.encode(into: &c)
        #expect(a.data != c.data)
    }

    @Test func hnswRemovedItemsAreNeverReturned() {
        let index = HNSWIndex(dimension: d)
        index.add(ids: Array(0..<n), vectors: base.pointer)
        let removed = Set(stride(from: 0, to: n, by: 3))
        index.remove(ids: Array(removed))
        #expect(index.count == n - removed.count)
        let hits = index.search(queries, k: 10)
        #expect(hits.allSatisfy { $0.count == 10 && $0.allSatisfy { !removed.contains($0.index) } })
        #expect(recall(hits, exact(removing: removed), k: 10) >= 0.95)
    }

    @Test(arguments: IndexKind.allCases)
    func indexFilesRoundTripAndRefuseDamage(kind: IndexKind) throws {
        let index = try IndexSettings(kind: kind).makeIndex(dimension: d)
        index.add(ids: Array(0..<500), vectors: base.pointer)
        index.remove(ids: [3, 4])
        let state = GalleryState(uuid: "u", generation: 7)
        let data = IndexFile.encode(index, state: state)
        let (loaded, loadedState) = try IndexFile.decode(data, path: "x")
        #expect(loadedState == state && type(of: loaded).kind == kind && loaded.count == 498)
        #expect(loaded.search(queries, k: 5) == index.search(queries, k: 5))
        for position in [0, 9, data.count / 2, data.count - 1] {
            var damaged = data
            damaged[position] ^= 0x40
            #expect(throws: IndexFileError.self) { try IndexFile.decode(damaged, path: "x") }
        }
        #expect(throws: IndexFileError.self) { try IndexFile.decode(data.prefix(data.count / 3), path: "x") }
    }
}
