import Foundation
import Search
import Tensors
import Testing

/// A compressed index learned from a small gallery is retrained once the gallery outgrows it, and
/// recall comes back.
@Suite("Retraining compressed indexes")
struct RetrainingTests {
    /// `n` unit vectors; `narrow` ones stay near the first axis, the others point anywhere.
    func vectors(_ n: Int, narrow: Bool, seed: UInt64) -> Tensor {
        var generator = RandomGenerator(seed: seed)
        let t = Tensor(shape: [n, 8])
        for i in 0..<n {
            for j in 0..<8 { t[i * 8 + j] = narrow ? (j == 0 ? 1 : 0.05 * generator.nextGaussian()) : generator.nextGaussian() }
        }
        RowNormalization.unitLength(t)
        return t
    }

    func recallAt10(_ index: any VectorIndex, _ queries: Tensor, exact: FlatIndex) -> Double {
        let found = index.search(queries, k: 10), truth = exact.search(queries, k: 10)
        let hits = zip(found, truth).map { f, t in Set(f.map(\.index)).intersection(t.map(\.index)).count }.reduce(0, +)
        return Double(hits) / Double(10 * queries.shape[0])
    }

    @Test func anIndexTrainedOnAFewItemsIsRetrainedAsTheGalleryGrows() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/g.akin", indexPath = folder + "/g.akin.index"
        let store = try SQLiteGalleryStore.create(at: path, dimension: 8, modelFingerprint: nil)
        let few = vectors(20, narrow: true, seed: 1), many = vectors(600, narrow: false, seed: 2)
        try store.add((0..<20).map { NewItem(path: "n\($0)", label: "") }, vectors: few.pointer)
        // Re-ranking only as deep as k: the codes alone choose the candidates.
        var settings = IndexSettings(kind: .sq8, rerank: 10)
        settings.trainedOn = 20
        let (built, state) = try GalleryIndex.build(store, settings: settings)
        try IndexFile.save(built, state: state, to: indexPath)
        try store.setIndexSettings(settings)
        try store.add((0..<600).map { NewItem(path: "w\($0)", label: "") }, vectors: many.pointer)

        let queries = vectors(50, narrow: false, seed: 3)
        let exact = try FlatIndex(exactOf: store)
        // What a catch-up alone would search with: the narrow quantiser, with the new items added to it.
        let stale = try IndexFile.load(from: indexPath).index
        let (ids, _) = try store.idsAndState()
        let newIDs = ids.filter { !Set(stale.ids).contains($0) }
        // Held in a constant for the call: a temporary tensor would be freed before `add` reads it.
        let newVectors = try #require(try store.vectors(ids: newIDs))
        withExtendedLifetime(newVectors) { stale.add(ids: newIDs, vectors: newVectors.pointer) }
        (stale as? SQ8Index)?.exactSource = store
        let before = recallAt10(stale, queries, exact: exact)

        let (index, outcome) = try GalleryIndex.open(store, settings: settings, path: indexPath)
        guard case let .rebuilt(reason) = outcome else { Issue.record("not retrained: \(outcome)"); return }
        #expect(reason.contains("620 items") && reason.contains("the 20 its quantiser learned from"))
        #expect(try store.indexSettings?.trainedOn == 620, "the gallery records the new sample")
        let after = recallAt10(index, queries, exact: exact)
        #expect(after >= 0.9 && after > before + 0.1, "recall@10 before retraining \(before), after \(after)")
        // Grown by less than the factor since: loaded as it is.
        let reopened = try GalleryIndex.open(store, settings: try #require(try store.indexSettings), path: indexPath)
        #expect(reopened.outcome == .loaded)
    }
}
