import Foundation

/// A searchable collection of images or vectors: an SQLite file of items (id, path, label, vector,
/// time added, JSON metadata) with the index that searches it kept beside it (`PATH.index`).
///
/// The gallery file is the truth; the index is a cache of it, checked against the gallery on the
/// first search and caught up (or rebuilt) when the gallery changed since it was built.
///
/// ```swift
/// let model = try EmbeddingModel.load(from: "model.safetensors")
/// let gallery = try Gallery.create(at: "shoes.akin", for: model)
/// try gallery.add(try model.embed(files: ["catalogue/"]), by: model)
/// let result = try gallery.search(model.embed(try ImageDecoder.decodeFile("query.jpg", channels: model.preprocessing.channels)), k: 5)
/// ```
///
/// A `Gallery` is used from one thread at a time.
public final class Gallery {
    /// The gallery's store (an SQLite file or a PostgreSQL collection), for what the front door does not cover.
    public let store: any GalleryStore
    /// An index searches use, with the gallery state it holds at least and the settings it was opened for.
    typealias LoadedIndex = (index: any VectorIndex, use: IndexUse, state: GalleryState, settings: IndexSettings?)
    /// The index non-exact searches use (a flat one when the gallery has no index).
    var loaded: LoadedIndex?
    /// The flat index of exact searches, when the gallery also has an index of its own.
    var loadedExact: LoadedIndex?
    /// The stored threshold as the last `openIndex` read it (with the index state, in one read).
    var lastThreshold: Float?

    /// The front door over a store already open.
    public init(store: any GalleryStore) { self.store = store }

    /// Makes an empty gallery for vectors brought from elsewhere. Refuses an existing one.
    /// - Parameters:
    ///   - path: the gallery to make: a file, or a `GalleryAddress` such as `postgres://…?collection=NAME`.
    ///   - dimension: the length of every vector it will hold (positive).
    ///   - similarity: `.cosine` stores vectors at unit length and scores by cosine similarity
    ///     (in [-1, 1]); `.innerProduct` stores them as given and scores by their dot product.
    ///   - shards: for a PostgreSQL gallery, two or more `postgres://USER@HOST:PORT/DATABASE` servers to
    ///     spread its items over (`path` is then the coordinator); none keeps them in `path`'s database.
    public static func create(at path: String, dimension: Int, similarity: GallerySimilarity = .cosine, shards: [String] = []) throws -> Gallery {
        Gallery(store: try GalleryAddress(path).create(dimension: dimension, modelFingerprint: nil, similarity: similarity, shards: shards))
    }

    /// Makes an empty gallery for `model`'s embeddings: it takes their size and refuses any other
    /// model's. `shards` as for ``create(at:dimension:similarity:shards:)``.
    public static func create(at path: String, for model: EmbeddingModel, similarity: GallerySimilarity = .cosine, shards: [String] = []) throws -> Gallery {
        Gallery(store: try GalleryAddress(path).create(dimension: model.embeddingDimension, modelFingerprint: model.fingerprint, similarity: similarity,
                                                       shards: shards))
    }

    /// Makes a whole gallery of `embedded` images at once: written under a temporary name and moved
    /// into place when complete, so `path` never holds half a gallery. With `overwrite`, a gallery
    /// already at `path` (and its index) is replaced.
    public static func create(at path: String, holding embedded: EmbeddedImages, by model: EmbeddingModel, overwrite: Bool = false) throws {
        let items = zip(embedded.paths, embedded.labels).map { NewItem(path: $0, label: $1) }
        try GalleryAddress(path).createWhole(overwrite: overwrite, dimension: embedded.vectors.shape[1], modelFingerprint: model.fingerprint) {
            try $0.add(items, vectors: embedded.vectors.pointer)
        }
    }

    /// Opens an existing gallery; a file that is not one is refused with the reason. A change waits
    /// up to `lockTimeout` seconds while another process writes, then fails with `GalleryStoreError.locked`.
    public static func open(_ path: String, readOnly: Bool = false, lockTimeout: TimeInterval = SQLiteGalleryStore.busyTimeout) throws -> Gallery {
        Gallery(store: try GalleryAddress(path).open(readOnly: readOnly, lockTimeout: lockTimeout))
    }

    /// Closes the file or connection; the gallery is unusable afterwards.
    public func close() throws { try store.close() }

    public var path: String { store.path }
    /// Where the gallery's index file lives.
    public var indexPath: String { GalleryIndex.defaultPath(for: path) }
    /// Dimension, similarity measure, the model that embedded it (nil for vectors from elsewhere), threshold.
    public var info: GalleryInfo { store.info }
    /// Items held now.
    public var count: Int { get throws { try store.count } }
    /// The calibrated similarity under which a query is "no match"; nil until one is set.
    public var threshold: Float? { get throws { try store.threshold } }

    /// Stores `threshold` (nil removes it): searches without their own threshold use it.
    public func setThreshold(_ threshold: Float?) throws { try store.setThreshold(threshold) }

    /// Refuses `model` unless it is the one that embedded this gallery.
    public func requireModel(_ model: EmbeddingModel) throws { try store.requireModel(model.fingerprint) }

    // MARK: Adding and removing

    /// Adds `items` with their vectors ([items.count, D]), `transactionSize` items per transaction
    /// (all in one when nil). The whole batch is checked first (finite, not all zero for cosine,
    /// metadata JSON), so a bad row commits nothing. `committed` is called with each transaction's
    /// ids once it is durable on disk. Returns every new id. Cosine galleries store the vectors at
    /// unit length.
    /// - Parameters:
    ///   - items: each item's path, label and optional JSON metadata.
    ///   - vectors: [items.count, D], one row per item.
    ///   - transactionSize: items per transaction; nil adds all in one.
    ///   - allowingVectorsFromElsewhere: a gallery made for a model holds that model's vectors only;
    ///     vectors from elsewhere (a `.npy` file) are refused unless this is set.
    ///   - skippingExistingPaths: leave out the items whose path the gallery already holds, so an
    ///     interrupted add can be run again without adding anything twice.
    ///   - committed: called with each transaction's ids once it is durable.
    @discardableResult
    public func add(_ items: [NewItem], vectors: Tensor, transactionSize: Int? = nil, allowingVectorsFromElsewhere: Bool = false,
                    skippingExistingPaths: Bool = false, committed: ([Int]) -> Void = { _ in }) throws -> [Int] {
        if let model = info.modelFingerprint, !allowingVectorsFromElsewhere { throw GalleryError.foreignVectors(path: path, model: model) }
        try checkShape(items, vectors)
        guard skippingExistingPaths else { return try insert(items, vectors: vectors, transactionSize: transactionSize, committed: committed) }
        let (kept, keptVectors) = try withoutExistingPaths(items, vectors: vectors)
        return try insert(kept, vectors: keptVectors, transactionSize: transactionSize, committed: committed)
    }

    /// The items (and their vector rows) whose path no item of the gallery has yet.
    private func withoutExistingPaths(_ items: [NewItem], vectors: Tensor) throws -> ([NewItem], Tensor) {
        let existing = try store.existingPaths(items.map(\.path))
        let rows = items.indices.filter { !existing.contains(items[$0].path) }
        let d = info.dimension
        let kept = Tensor(shape: [rows.count, d])
        for (r, i) in rows.enumerated() { (kept.pointer + r * d).update(from: vectors.pointer + i * d, count: d) }
        return (rows.map { items[$0] }, kept)
    }

    /// Adds images embedded by `model`, which must be the gallery's (see `EmbeddingModel.embed(files:)`),
    /// each with its path and label; as `add(_:vectors:…)` otherwise.
    @discardableResult
    public func add(_ embedded: EmbeddedImages, by model: EmbeddingModel, transactionSize: Int? = nil, skippingExistingPaths: Bool = false,
                    committed: ([Int]) -> Void = { _ in }) throws -> [Int] {
        try requireModel(model)
        var items = zip(embedded.paths, embedded.labels).map { NewItem(path: $0, label: $1) }, vectors = embedded.vectors
        try checkShape(items, vectors)
        if skippingExistingPaths { (items, vectors) = try withoutExistingPaths(items, vectors: vectors) }
        return try insert(items, vectors: vectors, transactionSize: transactionSize, committed: committed)
    }

    /// One row of the gallery's dimension per item, checked before any row is read.
    private func checkShape(_ items: [NewItem], _ vectors: Tensor) throws {
        guard vectors.shape.count == 2, vectors.shape[1] == info.dimension else {
            throw GalleryStoreError.wrongDimension(path: path, expected: info.dimension, got: vectors.shape.last ?? 0, what: "the vectors added")
        }
        guard vectors.shape[0] == items.count else {
            throw GalleryError.countMismatch(items: items.count, vectors: vectors.shape[0])
        }
    }

    private func insert(_ items: [NewItem], vectors: Tensor, transactionSize: Int?, committed: ([Int]) -> Void) throws -> [Int] {
        let step = max(transactionSize ?? items.count, 1), d = info.dimension
        try store.validate(items, vectors: vectors.pointer)
        var ids: [Int] = [], start = 0
        while start < items.count {
            let end = min(start + step, items.count)
            let added: [Int]
            do { added = try store.add(Array(items[start..<end]), vectors: vectors.pointer + start * d) }
            catch where !ids.isEmpty {
                // Say exactly what is in: the transactions before this one are committed.
                throw GalleryError.interrupted(committed: ids, reason: "\(error)")
            }
            ids += added
            committed(added)
            start = end
        }
        return ids
    }

    /// Removes the items with these ids in one transaction; returns how many there were.
    @discardableResult
    public func remove(ids: [Int]) throws -> Int { try store.remove(ids: ids) }

    /// Reads a float32 .npy file of vectors, one a row ([N, D]), whose size must be the gallery's.
    public func vectors(fromNpy file: String) throws -> Tensor {
        let matrix = try NpyFile.read(from: file)
        guard matrix.shape.count == 2 else { throw GalleryError.notAMatrix(source: file, shape: matrix.shape) }
        guard matrix.shape[1] == info.dimension else {
            throw GalleryStoreError.wrongDimension(path: path, expected: info.dimension, got: matrix.shape[1], what: "the rows of \(file)")
        }
        return matrix
    }

    // MARK: Searching

    /// Checks query vectors ([Q, D]) against the gallery's dimension, refuses a row with a NaN or
    /// infinite component (and, for a cosine gallery, an all-zero row), and for a cosine gallery
    /// scales them to unit length as its items are. `source` names them in errors.
    public func queries(_ vectors: Tensor, from source: String = "the queries") throws -> Tensor {
        guard vectors.shape.count == 2 else { throw GalleryError.notAMatrix(source: source, shape: vectors.shape) }
        guard vectors.shape[1] == info.dimension else {
            throw GalleryStoreError.wrongDimension(path: path, expected: info.dimension, got: vectors.shape[1], what: "the rows of \(source)")
        }
        let d = info.dimension
        for row in 0..<vectors.shape[0] {
            let v = vectors.pointer + row * d
            if let j = (0..<d).first(where: { !v[$0].isFinite }) {
                throw GalleryError.badQuery(source: source, row: row, reason: "component \(j) is \(v[j])")
            }
            if info.similarity == .cosine, (0..<d).allSatisfy({ v[$0] == 0 }) {
                throw GalleryError.badQuery(source: source, row: row, reason: "it is all zeros, so it has no direction to compare")
            }
        }
        if info.similarity == .cosine { RowNormalization.unitLength(vectors) }
        return vectors
    }

    /// Opens the index searches use: the one `buildIndex` made (loaded, caught up or rebuilt when
    /// stale or damaged), or exact search when there is none or `exact` is set. Searches call it
    /// themselves; call it first to time it apart, or to know how the index was found. An index
    /// already open is kept, and caught up with what this or any other process added or removed
    /// since, so every search sees every committed item.
    @discardableResult
    public func loadIndex(exact: Bool = false, reporter: any WorkReporter = SilentReporter()) throws -> IndexUse {
        try openIndex(exact: exact, reporter: reporter).use
    }

    /// The index a search uses, opened or caught up as `loadIndex` says.
    func openIndex(exact: Bool, reporter: any WorkReporter = SilentReporter()) throws -> LoadedIndex {
        // Read before the index is opened: the index holds at least this state, so a change made
        // meanwhile is caught up by the next search rather than missed.
        let state: GalleryState, built: IndexSettings?
        do { (state, built, lastThreshold) = try store.searchState() }
        catch let error as GalleryStoreError where exact {
            // Exact search needs no index settings: damaged ones do not stop it (their index is kept apart).
            guard case .notAGallery = error else { throw error }
            state = try store.state
            built = IndexSettings(kind: .flat)
            lastThreshold = try store.threshold
        }
        // No settings means exact search, asked for or for want of an index: the same flat index serves both.
        let settings = exact ? nil : built
        // An exact search of a gallery with an index keeps its flat index apart, so a caller mixing
        // exact and indexed searches (a server) reloads neither.
        let apart = exact && built != nil
        if let current = apart ? loadedExact : loaded, Self.sameIndex(current.settings, settings) {
            if current.state == state || current.index is PgvectorIndex { return current }
            if let caught = try GalleryIndex.catchUp(current.index, since: current.state, store: store, settings: settings) {
                var updated = current
                updated.state = caught
                if apart { loadedExact = updated } else { loaded = updated }
                return updated
            }
        }
        if apart { loadedExact = nil } else { loaded = nil }
        let index: any VectorIndex, use: IndexUse
        if let database = store as? PostgresGalleryStore {
            // pgvector searches in the database: an HNSW index when one was built, every vector otherwise.
            let indexed = settings?.kind == .hnsw
            // A sharded gallery's shards keep the ef_search its index was built with.
            index = PgvectorIndex(store: database, exact: !indexed, efSearch: indexed && !database.isSharded ? settings?.efSearch : nil)
            use = IndexUse(kind: indexed ? .hnsw : nil, outcome: .loaded)
        } else if let settings {
            let total = max(try store.count, 1)
            let progress = reporter.begin("rebuilding index", total: total, unit: "items")
            let result = try GalleryIndex.open(store, settings: settings, path: indexPath,
                                               progress: { done, all in progress(min(done, max(all, 1))) }, note: reporter.note)
            index = result.index
            use = IndexUse(kind: settings.kind, outcome: result.outcome)
            if case let .rebuilt(reason) = result.outcome { reporter.note("rebuilt the index: \(reason)") }
        } else {
            index = try FlatIndex(exactOf: store)
            use = IndexUse(kind: nil, outcome: .loaded)
        }
        let opened = LoadedIndex(index: index, use: use, state: state, settings: settings)
        if apart { loadedExact = opened } else { loaded = opened }
        return opened
    }

    /// Whether an index opened for `a` serves `b`: the count a quantiser learned from, which a
    /// retraining records after the index is opened, does not make another index.
    static func sameIndex(_ a: IndexSettings?, _ b: IndexSettings?) -> Bool {
        var a = a, b = b
        a?.trainedOn = nil
        b?.trainedOn = nil
        return a == b
    }

    /// The `k` nearest items of each query row ([Q, D], already through ``queries(_:from:)``), best
    /// first, by item id: what `search(_:k:threshold:exact:)` ranks before it reads the items.
    public func nearest(_ queries: Tensor, k: Int, exact: Bool = false) throws -> [[SearchHit]] {
        guard k > 0 else { throw GalleryError.badK(k) }
        let index = try openIndex(exact: exact).index
        guard index.count > 0 else { try Self.throwIfFailed(index); throw GalleryStoreError.empty(path) }
        // No query can have more hits than there are items: a huge k allocates nothing for them.
        let hits = index.search(queries, k: min(k, index.count))
        try Self.throwIfFailed(index)
        return hits
    }

    /// Throws why the last search of `index` cannot be trusted: approximate similarities must not be
    /// judged by a threshold calibrated on exact ones, and a database that failed gave no hits.
    static func throwIfFailed(_ index: any VectorIndex) throws {
        if let failure = (index as? any CompressedIndex)?.rerankFailure { throw failure }
        if let failure = (index as? PgvectorIndex)?.failure { throw failure }
    }

    /// Each query's top-`k` items and whether it matches: a query matches when its best similarity
    /// reaches `threshold` (default: the gallery's calibrated threshold; with none, every query matches).
    /// - Parameters:
    ///   - queries: [Q, D] vectors, scaled to unit length here for a cosine gallery.
    ///   - k: results per query (positive); fewer when the gallery holds fewer items.
    ///   - threshold: overrides the gallery's stored threshold for these queries.
    ///   - exact: search every item exactly, ignoring the gallery's index.
    public func search(_ queries: Tensor, k: Int, threshold: Float? = nil, exact: Bool = false) throws -> [SearchResult] {
        let hits = try nearest(try self.queries(queries), k: k, exact: exact)
        return try results(of: hits, threshold: threshold)
    }

    /// One query vector's top-`k`.
    public func search(_ query: [Float], k: Int, threshold: Float? = nil, exact: Bool = false) throws -> SearchResult {
        let matrix = Tensor(shape: [1, query.count])
        matrix.pointer.update(from: query, count: query.count)
        return try search(matrix, k: k, threshold: threshold, exact: exact)[0]
    }

    /// Images embedded by `model` (which must be the gallery's) searched as `search(_:k:threshold:exact:)` does.
    public func search(_ images: ImageSet, model: EmbeddingModel, k: Int, threshold: Float? = nil, exact: Bool = false,
                       reporter: any WorkReporter = SilentReporter()) throws -> [SearchResult] {
        try requireModel(model)
        return try search(try model.embed(images, reporter: reporter), k: k, threshold: threshold, exact: exact)
    }

    /// The items behind ranked hits, and the threshold rule applied to each query.
    public func results(of hits: [[SearchHit]], threshold: Float? = nil) throws -> [SearchResult] {
        let items = try store.items(ids: hits.flatMap { $0.map(\.index) })
        let cut = try threshold ?? store.threshold
        return hits.map { row in
            SearchResult(match: cut.map { (row.first?.similarity ?? -.infinity) >= $0 } ?? true, threshold: cut,
                         hits: row.compactMap { hit in
                             items[hit.index].map { GalleryHit(id: hit.index, path: $0.path, label: $0.label, similarity: hit.similarity, metadata: $0.metadata) }
                         })
        }
    }
}

/// How a gallery's searches are answered.
public struct IndexUse: Sendable, Equatable {
    /// The index kind; nil for exact search without an index.
    public var kind: IndexKind?
    /// How the index file was found (always `.loaded` for exact search).
    public var outcome: IndexOutcome

    public init(kind: IndexKind?, outcome: IndexOutcome) {
        self.kind = kind
        self.outcome = outcome
    }

    var exact: Bool { kind == nil }

    /// "exact", "hnsw", "hnsw, caught up with 3 added and 1 removed items", "hnsw, rebuilt".
    public var description: String {
        guard let kind else { return "exact" }
        switch outcome {
        case .loaded: return kind.rawValue
        case let .caughtUp(added, removed): return "\(kind), caught up with \(added) added and \(removed) removed items"
        case .rebuilt: return "\(kind), rebuilt"
        }
    }
}

/// One query's answer.
public struct SearchResult: Sendable, Equatable {
    /// False when the best similarity is under the threshold: "no match".
    public var match: Bool
    /// The threshold the answer was judged by (nil: none set, every query matches).
    public var threshold: Float?
    /// Best first.
    public var hits: [GalleryHit]
}

/// One gallery item found for a query.
public struct GalleryHit: Sendable, Equatable, Codable {
    public var id: Int
    public var path: String
    public var label: String
    /// Cosine similarity in [-1, 1] for a cosine gallery, the dot product for an inner-product one.
    public var similarity: Float
    /// The item's JSON metadata, as it was added.
    public var metadata: String?
}

/// What a gallery refuses from a caller.
public enum GalleryError: Error, CustomStringConvertible, Equatable {
    case badK(Int)
    case notAMatrix(source: String, shape: [Int])
    case countMismatch(items: Int, vectors: Int)
    case badQuery(source: String, row: Int, reason: String)
    case foreignVectors(path: String, model: String)
    case interrupted(committed: [Int], reason: String)
    case noSuchItem(Int)
    /// A search or listing option out of range: its name, and why.
    case badOption(String, String)
    /// A search option this gallery's index does not have (`ef` without HNSW, `probe` without IVF-PQ).
    case optionDoesNotApply(String, String)

    public var description: String {
        switch self {
        case let .badK(k): return "k must be positive, not \(k)"
        case let .noSuchItem(id): return "the gallery has no item \(id)"
        case let .badOption(name, reason), let .optionDoesNotApply(name, reason): return "\(name) \(reason)"
        case let .notAMatrix(source, shape): return "\(source) has shape \(shape); give one vector a row: [Q, D]"
        case let .countMismatch(items, vectors): return "\(items) items but \(vectors) vectors; give one vector per item"
        case let .badQuery(source, row, reason): return "query \(row) of \(source) cannot be searched: \(reason)"
        case let .interrupted(committed, reason):
            return "stopped after adding \(committed.count) items (ids \(committed.first ?? 0)…\(committed.last ?? 0), committed): \(reason). Run the add again with --skip-existing to add the rest"
        case let .foreignVectors(path, model):
            return "\(path) holds the vectors of model \(model); vectors from elsewhere would not be comparable with them. Add images with --model, or pass --any-vectors if these vectors come from that model"
        }
    }
}
