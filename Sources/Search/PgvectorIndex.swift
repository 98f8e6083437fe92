import Tensors

/// A PostgreSQL gallery's search behind the ``VectorIndex`` interface, so a ``Gallery`` searches
/// either store the same way: each search is a query pgvector answers in the database (its HNSW
/// index, or every vector when `exact`). The database is the index: there is nothing to add,
/// remove, save or catch up here, and every search sees every committed change.
public final class PgvectorIndex: VectorIndex {
    public static var kind: IndexKind { .hnsw }
    public let store: PostgresGalleryStore
    /// Scores every vector instead of using pgvector's index.
    public let exact: Bool
    /// `hnsw.ef_search` for the next searches (the server's default when nil).
    public var efSearch: Int?
    /// Labels a search keeps (all when nil), filtered inside the database.
    public var labels: Set<String>?
    /// Labels a search leaves out, filtered inside the database.
    public var excludingLabels: Set<String> = []
    /// Why the last search failed (the database's error); its hits are then empty, and the caller must throw this.
    public private(set) var failure: (any Error)?

    public init(store: PostgresGalleryStore, exact: Bool, efSearch: Int?) {
        self.store = store
        self.exact = exact
        self.efSearch = efSearch
    }

    public var dimension: Int { store.info.dimension }
    /// The collection's item count: as the gallery's last read of its state saw it (every search
    /// reads that first), else read from the database (0 when it cannot be read; the search then says why).
    public var count: Int {
        if let known = store.memory.withLock({ $0.count }) { return known }
        do { return try store.count } catch { failure = error; return 0 }
    }
    public var ids: [Int] {
        do { return try store.idsAndState().ids } catch { failure = error; return [] }
    }

    /// Adds go to the store, which is what this index searches.
    public func add(ids: [Int], vectors: UnsafePointer<Float>) {}
    /// Removes go to the store, which is what this index searches.
    public func remove(ids: [Int]) {}

    public func search(_ queries: Tensor, k: Int) -> [[SearchHit]] {
        failure = nil
        do {
            return try store.search(queries, k: k, exact: exact, efSearch: efSearch, labels: labels, excludingLabels: excludingLabels)
        } catch {
            failure = error
            return Array(repeating: [], count: queries.shape.first ?? 0)
        }
    }

    /// Nothing to save: the index lives in the database.
    public func encode(into writer: inout BinaryWriter) {}

    public static func decode(from reader: inout BinaryReader, dimension: Int) throws -> Self {
        throw IndexFileError.malformed("pgvector's index lives in its database, not in a file")
    }
}
