import Foundation
import Tensors

/// What happened when a gallery's index was opened.
public enum IndexOutcome: Sendable, Equatable {
    /// The file matched the gallery as it is.
    case loaded
    /// The file was built before some adds or removes, which were applied to it and saved.
    case caughtUp(added: Int, removed: Int)
    /// The file was missing, damaged, of another gallery or built differently; a new index was built from the store and saved.
    case rebuilt(reason: String)
}

/// Keeps an index file in step with its gallery: the gallery is the truth, the index a cache of it
/// that is checked on every open and never trusted silently.
public enum GalleryIndex {
    /// Where a gallery's index lives: beside it.
    public static func defaultPath(for galleryPath: String) -> String { galleryPath + ".index" }

    /// Builds a new index of every item of the gallery; `progress(done, total)` as items go in.
    public static func build(_ store: any GalleryStore, settings: IndexSettings,
                             progress: ((Int, Int) -> Void)? = nil) throws -> (index: any VectorIndex, state: GalleryState) {
        let (ids, vectors, state) = try store.allVectors()
        let index = try settings.makeIndex(dimension: store.info.dimension)
        let d = store.info.dimension, chunk = 4096
        var start = 0
        progress?(0, ids.count)
        // A quantiser learns from the whole gallery (a sample of it) before the first item goes in.
        if let compressed = index as? any CompressedIndex, !ids.isEmpty { compressed.train(vectors.pointer, count: ids.count) }
        while start < ids.count {
            let end = min(start + chunk, ids.count)
            index.add(ids: Array(ids[start..<end]), vectors: vectors.pointer + start * d)
            start = end
            progress?(start, ids.count)
        }
        settings.prepare(index, source: store)
        return (index, state)
    }

    /// Opens the gallery's index at `path`, catching it up or rebuilding it (and saving the result)
    /// when it does not match the gallery. A file that cannot be saved is reported through `note`, and the index still used.
    public static func open(_ store: any GalleryStore, settings: IndexSettings, path: String,
                            progress: ((Int, Int) -> Void)? = nil, note: (String) -> Void = { _ in }) throws -> (index: any VectorIndex, outcome: IndexOutcome) {
        var reason: String
        do {
            let (index, built) = try IndexFile.load(from: path)
            let (ids, state) = try store.idsAndState()
            if built.uuid != state.uuid {
                reason = IndexFileError.otherGallery(path: path).description
            } else if index.dimension != store.info.dimension || !settings.built(index) {
                reason = "index file \(path) was built as another kind or with other settings than the gallery asks for"
            } else if settings.needsRetraining(count: ids.count) {
                reason = "the gallery holds \(ids.count) items, more than \(IndexSettings.retrainingFactor)× the \(settings.trainedOn ?? 0) its quantiser learned from: retrained"
            } else if built.generation == state.generation && index.count == ids.count {
                settings.prepare(index, source: store)
                return (index, .loaded)
            } else if let caughtUp = try catchUp(index, store: store, ids: ids) {
                settings.prepare(index, source: store)
                save(index, state: state, path: path, note: note)
                return (index, .caughtUp(added: caughtUp.added, removed: caughtUp.removed))
            } else {
                reason = "the gallery changed while its index was being caught up"
            }
        } catch let error as IndexFileError {
            reason = error.description
        }
        let (index, state) = try build(store, settings: settings, progress: progress)
        settings.prepare(index, source: store)
        save(index, state: state, path: path, note: note)
        if settings.kind == .sq8 || settings.kind == .ivfpq {
            // The new quantiser's sample, so the gallery knows when to retrain it next.
            var retrained = settings
            retrained.trainedOn = index.count
            do { try store.setIndexSettings(retrained) } catch { note("could not record the retrained index in \(store.path): \(error)") }
        }
        return (index, .rebuilt(reason: reason))
    }

    /// Applies to an index held in memory the adds and removes the gallery has seen since `state`,
    /// and returns the state it now holds at least; the file is left for the next open to catch up.
    /// nil when it cannot be caught up (an item vanished meanwhile, or a compressed index should be
    /// retrained): open it afresh.
    public static func catchUp(_ index: any VectorIndex, since state: GalleryState, store: any GalleryStore,
                               settings: IndexSettings?) throws -> GalleryState? {
        let (ids, now) = try store.idsAndState()
        guard now.uuid == state.uuid else { return nil }
        if now.generation == state.generation { return now }
        if let settings, settings.needsRetraining(count: ids.count) { return nil }
        return try catchUp(index, store: store, ids: ids) == nil ? nil : now
    }

    /// Applies the gallery's adds and removes since the index was built; nil if an item vanished meanwhile.
    private static func catchUp(_ index: any VectorIndex, store: any GalleryStore, ids: [Int]) throws -> (added: Int, removed: Int)? {
        let indexed = Set(index.ids), current = Set(ids)
        let added = ids.filter { !indexed.contains($0) }
        let removed = indexed.filter { !current.contains($0) }
        if !added.isEmpty {
            guard let vectors = try store.vectors(ids: added) else { return nil }
            index.add(ids: added, vectors: vectors.pointer)
        }
        index.remove(ids: Array(removed))
        return (added.count, removed.count)
    }

    private static func save(_ index: any VectorIndex, state: GalleryState, path: String, note: (String) -> Void) {
        do { try IndexFile.save(index, state: state, to: path) }
        catch { note("the index was not saved (\(error)); it will be rebuilt next time") }
    }
}
