import Foundation
import Tensors

/// Where a gallery keeps its items and vectors: the source of truth that indexes are derived from.
/// Two stores implement it, an SQLite file (``SQLiteGalleryStore``) and a collection in a
/// PostgreSQL database with pgvector (``PostgresGalleryStore``); ``GalleryAddress`` picks one from
/// the address a user gives. Every add or remove is one transaction, so what returned is durable
/// and nothing is left half-added; every read sees one committed state.
public protocol GalleryStore: AnyObject, Sendable, ExactVectorSource {
    /// The address the store was opened with, as messages show it (a password left out).
    var path: String { get }
    var info: GalleryInfo { get }
    /// Ends the store's connection or file; it is unusable afterwards.
    func close() throws

    /// Adds items with their vectors ([count, dimension]) in one transaction; returns their ids.
    /// Cosine galleries store the vectors scaled to unit length.
    @discardableResult
    func add(_ items: [NewItem], vectors: UnsafePointer<Float>) throws -> [Int]
    /// Removes items in one transaction; returns how many existed.
    @discardableResult
    func remove(ids: [Int]) throws -> Int
    /// Stores the "no match" threshold for `search` (nil clears it).
    func setThreshold(_ threshold: Float?) throws
    /// Records which index `search` should use (nil: exact search).
    func setIndexSettings(_ settings: IndexSettings?) throws

    /// The stored index settings, nil when searches are exact.
    var indexSettings: IndexSettings? { get throws }
    /// What a search checks before it runs, in one read: the change counter, the index settings and the threshold.
    func searchState() throws -> (state: GalleryState, indexSettings: IndexSettings?, threshold: Float?)
    /// Every item id with the state they were read at (one read).
    func idsAndState() throws -> (ids: [Int], state: GalleryState)
    /// The stored threshold as it is now (another process may have calibrated since opening).
    var threshold: Float? { get throws }
    var count: Int { get throws }
    var state: GalleryState { get throws }
    /// Items in id order, `limit` at most, after `afterID`, only those whose label is in `labels` when given.
    func items(afterID: Int, limit: Int, labels: Set<String>?) throws -> [StoredItem]
    /// The items with these ids (missing ids are left out), keyed by id.
    func items(ids: [Int]) throws -> [Int: StoredItem]
    /// Every vector in id order, and the state they were read at (one read, so the two agree).
    func allVectors(progress: ((Int, Int) -> Void)?) throws -> (ids: [Int], vectors: Tensor, state: GalleryState)
    /// The vectors of these ids ([ids.count, D]); nil for an id not in the gallery.
    func vectors(ids: [Int]) throws -> Tensor?
    /// Which of `paths` some item already has.
    func existingPaths(_ paths: [String]) throws -> Set<String>
    /// Item count per label, largest first.
    func labelCounts() throws -> [(label: String, count: Int)]
    /// The ids of the items whose label `keeps` admits, in id order.
    func ids(whereLabel keeps: (String) -> Bool) throws -> [Int]
    /// Writes a consistent copy of the gallery to the SQLite file `destination` while it stays in
    /// use; refuses an existing destination.
    func snapshot(to destination: String) throws
}

extension GalleryStore {
    /// Items in id order, `limit` at most, starting after `afterID`.
    public func items(afterID: Int = -1, limit: Int = .max) throws -> [StoredItem] {
        try items(afterID: afterID, limit: limit, labels: nil)
    }

    /// Every vector in id order, and the state they were read at.
    public func allVectors() throws -> (ids: [Int], vectors: Tensor, state: GalleryState) { try allVectors(progress: nil) }

    public func exactVectors(ids: [Int]) throws -> Tensor? { try vectors(ids: ids) }

    /// Refuses a model other than the one that embedded this gallery (and any model for a gallery of
    /// vectors brought from elsewhere, whose space no Akin model shares).
    public func requireModel(_ fingerprint: String) throws {
        guard info.modelFingerprint == fingerprint else {
            throw GalleryStoreError.wrongModel(path: path, galleryModel: info.modelFingerprint, model: fingerprint)
        }
    }

    /// Throws what `add` would refuse — metadata that is not JSON, a component that is not finite,
    /// an all-zero vector in a cosine gallery — naming the item by its row; writes nothing. Call it
    /// on a whole batch before adding it in several transactions, so none is committed when a later
    /// one would fail.
    public func validate(_ items: [NewItem], vectors: UnsafePointer<Float>) throws {
        let d = info.dimension
        for (i, item) in items.enumerated() {
            if let metadata = item.metadata, (try? JSONSerialization.jsonObject(with: Data(metadata.utf8), options: [.fragmentsAllowed])) == nil {
                throw GalleryStoreError.badMetadata(item: i, reason: "not valid JSON")
            }
            for j in 0..<d where !vectors[i * d + j].isFinite {
                throw GalleryStoreError.badVector(item: i, reason: "component \(j) is \(vectors[i * d + j])")
            }
            if info.similarity == .cosine && (0..<d).allSatisfy({ vectors[i * d + $0] == 0 }) {
                throw GalleryStoreError.badVector(item: i, reason: "it is all zeros, which has no direction for cosine similarity")
            }
        }
    }

    /// Copies every item, vector and the threshold of this gallery into `destination`,
    /// an empty gallery of the same dimension and similarity, in transactions of `batch` items;
    /// returns how many were copied (`akin gallery copy`, `snapshot` of a PostgreSQL gallery).
    /// Ids are the destination's own: a copy is a new gallery.
    @discardableResult
    public func copy(into destination: any GalleryStore, batch: Int = 4096, progress: ((Int, Int) -> Void)? = nil) throws -> Int {
        let (ids, vectors, _) = try allVectors()
        let d = info.dimension
        var start = 0
        progress?(0, ids.count)
        while start < ids.count {
            let end = min(start + batch, ids.count)
            let found = try items(ids: Array(ids[start..<end]))
            // An item removed since `allVectors` read it is left out, with its vector.
            var kept: [NewItem] = [], rows: [Float] = []
            for (row, id) in ids[start..<end].enumerated() {
                guard let item = found[id] else { continue }
                kept.append(NewItem(path: item.path, label: item.label, metadata: item.metadata))
                rows.append(contentsOf: UnsafeBufferPointer(start: vectors.pointer + (start + row) * d, count: d))
            }
            if !kept.isEmpty { try destination.add(kept, vectors: rows) }
            start = end
            progress?(start, ids.count)
        }
        // The index is not copied: each store indexes in its own way (`akin index build` on the copy).
        try destination.setThreshold(try threshold)
        return ids.count
    }
}

extension GalleryStore {
    /// `add` from a flat array of rows.
    @discardableResult
    func add(_ items: [NewItem], vectors: [Float]) throws -> [Int] {
        try vectors.withUnsafeBufferPointer { try add(items, vectors: $0.baseAddress!) }
    }
}

extension GalleryInfo {
    /// The largest dimension a gallery may have (pgvector's `vector` stops at 16,000 for an
    /// index, 16,000 stored): a hand-edited file cannot make a read allocate rows of billions of floats.
    public static let maximumDimension = 65_536
}
