import Foundation
import Search
import Tensors
import Testing

func unitVectors(_ n: Int, _ d: Int, seed: UInt64) -> Tensor {
    var generator = RandomGenerator(seed: seed)
    let t = Tensor(shape: [n, d])
    for row in 0..<n {
        var norm: Float = 0
        for j in 0..<d { let v = generator.nextFloat() * 2 - 1; t[row * d + j] = v; norm += v * v }
        for j in 0..<d { t[row * d + j] /= norm.squareRoot() }
    }
    return t
}

@Suite("Exact search and galleries")
struct SearchTests {
    /// The plain definition: every similarity, sorted.
    func bruteForce(_ queries: Tensor, _ gallery: Tensor, k: Int, excludingSelf: Bool) -> [[Int]] {
        let d = gallery.shape[1]
        return (0..<queries.shape[0]).map { q in
            let scored = (0..<gallery.shape[0]).filter { !excludingSelf || $0 != q }.map { j in
                (j, (0..<d).reduce(Float(0)) { $0 + queries[q * d + $1] * gallery[j * d + $1] })
            }
            return scored.sorted { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }.prefix(k).map(\.0)
        }
    }

    @Test(arguments: [(1, 10), (5, 300), (20, 37)])
    func topKEqualsFullSort(k: Int, galleryCount: Int) {
        let gallery = unitVectors(galleryCount, 7, seed: 1), queries = unitVectors(13, 7, seed: 2)
        let index = FlatIndex(rows: gallery)
        index.queryBlock = 4
        index.tileRows = 16
        let hits = index.search(queries, k: k)
        #expect(hits.map { $0.map(\.index) } == bruteForce(queries, gallery, k: k, excludingSelf: false))
        #expect(hits.allSatisfy { zip($0, $0.dropFirst()).allSatisfy { $0.similarity >= $1.similarity } })
    }

    @Test func leaveOneOutNeverReturnsTheQuery() {
        let vectors = unitVectors(40, 5, seed: 3)
        let index = FlatIndex(rows: vectors)
        index.queryBlock = 16
        let hits = index.search(vectors, k: 39, excluding: { $0 })
        // One query alone takes the single-query path.
        let one = index.search(Tensor(shape: [1, 5], values: Array(vectors.buffer[(7 * 5)..<(8 * 5)])), k: 39, excluding: { _ in 7 })
        #expect(hits.map { $0.map(\.index) } == bruteForce(vectors, vectors, k: 39, excludingSelf: true))
        #expect(one[0].map(\.index) == hits[7].map(\.index))
    }

    @Test func tiesBreakByGalleryOrder() {
        let gallery = Tensor(shape: [4, 2], values: [1, 0, 0, 1, 1, 0, 1, 0])
        let hits = FlatIndex(rows: gallery).search(Tensor(shape: [1, 2], values: [1, 0]), k: 3)
        #expect(hits[0].map(\.index) == [0, 2, 3])
    }

    @Test func olderSafeTensorsGalleryConvertsToTheStore() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let vectors = unitVectors(2, 3, seed: 4)
        let old = SafeTensorsGallery(modelFingerprint: "abc", paths: ["x/1.png", "y/2.png"], labels: ["x", "y"], vectors: vectors)
        try old.save(to: folder + "/old.safetensors")
        #expect { try SQLiteGalleryStore.open(folder + "/old.safetensors") } throws: { "\($0)".contains("akin gallery convert") }
        try SafeTensorsGallery.load(from: folder + "/old.safetensors").convert(to: folder + "/new.akin")
        let store = try SQLiteGalleryStore.open(folder + "/new.akin")
        #expect(try store.items().map(\.path) == old.paths && store.items().map(\.label) == old.labels)
        let stored = try store.allVectors().vectors
        #expect(zip(stored.array, vectors.array).allSatisfy { abs($0 - $1) < 1e-6 })
        try store.requireModel("abc")
        #expect { try store.requireModel("def") } throws: { "\($0)".contains("not with this model") }
    }
}

func temporaryFolder() throws -> String {
    let path = NSTemporaryDirectory() + "akin-search-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
