import Foundation

extension Gallery {
    /// Copies the gallery at `source` to `destination`, between any two stores (an SQLite file and
    /// a PostgreSQL collection, either way): every item with its path, label, metadata and vector,
    /// the model it was embedded with and its threshold. The copy is made whole before it appears,
    /// so `destination` never holds half of it; ids are the copy's own (in the source's order). The
    /// index is not copied, since each store indexes its own way: build it on the copy with
    /// ``buildIndex(_:memoryBudget:reporter:)``. Returns how many items were copied.
    @discardableResult
    public static func copy(from source: String, to destination: String, overwrite: Bool = false,
                            reporter: any WorkReporter = SilentReporter()) throws -> Int {
        let from = try GalleryAddress(source).open(readOnly: true)
        defer { try? from.close() }
        let info = from.info
        var copied = 0
        let progress = reporter.begin("copying", total: max(try from.count, 1), unit: "items")
        try GalleryAddress(destination).createWhole(overwrite: overwrite, dimension: info.dimension, modelFingerprint: info.modelFingerprint,
                                                    similarity: info.similarity) { store in
            copied = try from.copy(into: store) { done, _ in progress(done) }
        }
        return copied
    }
}

extension Gallery {
    /// Removes the gallery at `path` (a file, or a `postgres://` collection) with its items and
    /// index; a sharded collection's tables go from every shard. A file that is not a gallery is
    /// refused and left alone; no gallery there is `GalleryStoreError.missing`.
    public static func drop(at path: String) throws {
        try GalleryAddress(path).drop()
    }
}
