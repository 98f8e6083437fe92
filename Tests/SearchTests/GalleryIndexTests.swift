import Foundation
import Search
import Tensors
import Testing

@Suite("Index files kept in step with the gallery")
struct GalleryIndexTests {
    @Test(arguments: IndexKind.allCases)
    func missingStaleCorruptAndForeignIndexesAreRebuiltOrCaughtUp(kind: IndexKind) throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let d = 8
        let vectors = unitVectors(600, d, seed: 21)
        let store = try SQLiteGalleryStore.create(at: folder + "/g.akin", dimension: d, modelFingerprint: nil)
        try store.add((0..<500).map { NewItem(path: "\($0)", label: "l\($0 % 5)") }, vectors: vectors.pointer)
        let settings = IndexSettings(kind: kind)
        let path = GalleryIndex.defaultPath(for: store.path)

        let (_, first) = try GalleryIndex.open(store, settings: settings, path: path)
        guard case .rebuilt(let reason) = first else { Issue.record("expected a rebuild, got \(first)"); return }
        #expect(reason.contains("does not exist"))
        #expect(try GalleryIndex.open(store, settings: settings, path: path).outcome == .loaded)

        // Stale: the gallery changed since.
        try store.add((500..<600).map { NewItem(path: "\($0)", label: "new") }, vectors: vectors.pointer + 500 * d)
        try store.remove(ids: [0, 1, 2])
        let (caughtUp, outcome) = try GalleryIndex.open(store, settings: settings, path: path)
        #expect(outcome == .caughtUp(added: 100, removed: 3))
        #expect(caughtUp.count == 597)
        #expect(try GalleryIndex.open(store, settings: settings, path: path).outcome == .loaded)
        let query = Tensor(shape: [1, d], values: Array(vectors.array[(550 * d)..<(551 * d)]))
        #expect(caughtUp.search(query, k: 1)[0].first?.index == 550)

        // Corrupt: one flipped byte.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count / 2] ^= 1
        try bytes.write(to: URL(fileURLWithPath: path))
        let (rebuilt, corrupt) = try GalleryIndex.open(store, settings: settings, path: path)
        guard case .rebuilt(let why) = corrupt else { Issue.record("expected a rebuild, got \(corrupt)"); return }
        #expect(why.contains("checksum"))
        let storedIDs = try store.idsAndState().ids
        #expect(rebuilt.count == 597 && Set(rebuilt.ids) == Set(storedIDs))

        // Another gallery's index file.
        let other = try SQLiteGalleryStore.create(at: folder + "/other.akin", dimension: d, modelFingerprint: nil)
        try other.add([NewItem(path: "x", label: "x")], vectors: vectors.pointer)
        let (_, foreign) = try GalleryIndex.open(other, settings: settings, path: path)
        guard case .rebuilt(let whyForeign) = foreign else { Issue.record("expected a rebuild, got \(foreign)"); return }
        #expect(whyForeign.contains("another gallery"))
        withExtendedLifetime(vectors) {}  // its pointer was handed out above
    }

    @Test func anIndexOfAnotherKindIsRebuilt() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try SQLiteGalleryStore.create(at: folder + "/g.akin", dimension: 4, modelFingerprint: nil)
        // A named tensor kept alive past the call: a temporary's storage may be freed as soon as its pointer is read.
        let vectors = unitVectors(50, 4, seed: 1)
        _ = try withExtendedLifetime(vectors) { try store.add((0..<50).map { NewItem(path: "\($0)", label: "x") }, vectors: vectors.pointer) }
        let path = GalleryIndex.defaultPath(for: store.path)
        _ = try GalleryIndex.open(store, settings: IndexSettings(kind: .flat), path: path)
        let (index, outcome) = try GalleryIndex.open(store, settings: IndexSettings(kind: .hnsw), path: path)
        #expect(index is HNSWIndex)
        guard case .rebuilt = outcome else { Issue.record("expected a rebuild, got \(outcome)"); return }
    }
}
