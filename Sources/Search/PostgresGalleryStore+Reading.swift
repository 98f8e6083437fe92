import Foundation
import PostgresNIO
import Tensors

/// What a PostgreSQL gallery holds, read without changing anything. A read that needs several
/// statements to agree runs them in one REPEATABLE READ transaction (one snapshot).
extension PostgresGalleryStore {
    /// The collection's row: its change counter, index settings, threshold and item count.
    private func row() throws -> (generation: Int64, settings: String?, threshold: Float?, count: Int) {
        guard let row = try session.query("""
            SELECT generation, index_settings, threshold, item_count FROM akin.galleries WHERE name = \(address.collection)
            """).first else { throw GalleryStoreError.missing(path) }
        let (generation, settings, threshold, count) = try decoding { try row.decode((Int64, String?, Float?, Int).self) }
        memory.withLock { $0.count = count }
        return (generation, settings, threshold, count)
    }

    /// A decode that fails names the gallery (a hand-edited table), never stops the process.
    func decoding<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as GalleryStoreError { throw error } catch {
            throw GalleryStoreError.notAGallery(path: path, reason: "a row cannot be read (\(error)); its tables were changed by hand")
        }
    }

    /// Runs `body`'s reads on one snapshot.
    func snapshotRead<T>(_ body: () throws -> T) throws -> T {
        try session.transaction {
            try session.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            return try body()
        }
    }

    public var indexSettings: IndexSettings? {
        get throws { try GalleryRecords.indexSettings(try row().settings, dimension: info.dimension, gallery: path) }
    }

    public func searchState() throws -> (state: GalleryState, indexSettings: IndexSettings?, threshold: Float?) {
        let row = try row()
        return (GalleryState(uuid: info.uuid, generation: row.generation),
                try GalleryRecords.indexSettings(row.settings, dimension: info.dimension, gallery: path), row.threshold)
    }

    public func idsAndState() throws -> (ids: [Int], state: GalleryState) {
        try snapshotRead {
            let generation = try row().generation
            let ids = try session.query("SELECT id FROM \(unescaped: table) ORDER BY id").map { row in try decoding { try row.decode(Int.self) } }
            return (ids, GalleryState(uuid: info.uuid, generation: generation))
        }
    }

    public var threshold: Float? { get throws { try row().threshold } }
    public var count: Int { get throws { try row().count } }
    public var state: GalleryState { get throws { GalleryState(uuid: info.uuid, generation: try row().generation) } }

    static let itemColumns = "id, path, label, added, metadata"

    func item(_ row: PostgresRow) throws -> StoredItem {
        let (id, path, label, added, metadata) = try decoding { try row.decode((Int, String, String, Double, String?).self) }
        return StoredItem(id: id, path: path, label: label, added: Date(timeIntervalSince1970: added), metadata: metadata)
    }

    public func items(afterID: Int, limit: Int, labels: Set<String>?) throws -> [StoredItem] {
        let limit = Int64(min(limit, Int(Int64.max)))
        if let labels {
            if labels.isEmpty { return [] }
            return try session.query("""
                SELECT \(unescaped: Self.itemColumns) FROM \(unescaped: table)
                WHERE id > \(afterID) AND label = ANY(\(labels.sorted())::text[]) ORDER BY id LIMIT \(limit)
                """).map(item)
        }
        return try session.query("SELECT \(unescaped: Self.itemColumns) FROM \(unescaped: table) WHERE id > \(afterID) ORDER BY id LIMIT \(limit)")
            .map(item)
    }

    public func items(ids: [Int]) throws -> [Int: StoredItem] {
        let remembered = memory.withLock { memory in
            defer { memory.hitItems = [:] }
            return memory.hitItems
        }
        if !ids.isEmpty, ids.allSatisfy({ remembered[$0] != nil }) {
            return Dictionary(uniqueKeysWithValues: Set(ids).map { ($0, remembered[$0]!) })
        }
        var found: [Int: StoredItem] = [:]
        for item in try session.query("""
            SELECT \(unescaped: Self.itemColumns) FROM \(unescaped: table) WHERE id = ANY(\(Set(ids).map(Int64.init))::bigint[])
            """).map(item) {
            found[item.id] = item
        }
        return found
    }

    /// Copies rows of `(id, embedding::real[])` into `out`, row by row in the result's order; returns the ids.
    private func readVectors(_ result: PostgresQueryResult, into out: Tensor, progress: ((Int, Int) -> Void)? = nil, total: Int = 0) throws -> [Int] {
        let d = info.dimension
        var ids: [Int] = []
        ids.reserveCapacity(out.shape[0])
        for row in result {
            let (id, vector) = try decoding { try row.decode((Int, [Float]).self) }
            guard vector.count == d, ids.count < out.shape[0] else {
                throw GalleryStoreError.notAGallery(path: path, reason: "item \(id)'s vector has \(vector.count) components, not \(d)")
            }
            vector.withUnsafeBufferPointer { (out.pointer + ids.count * d).update(from: $0.baseAddress!, count: d) }
            ids.append(id)
            if ids.count % 65536 == 0 { progress?(ids.count, total) }
        }
        return ids
    }

    public func allVectors(progress: ((Int, Int) -> Void)?) throws -> (ids: [Int], vectors: Tensor, state: GalleryState) {
        try snapshotRead {
            let (generation, _, _, _) = try row()
            let n = try session.query("SELECT count(*) FROM \(unescaped: table)").decodeFirst(Int.self) ?? 0
            let vectors = Tensor(shape: [n, info.dimension])
            let ids = try readVectors(try session.query("SELECT id, embedding::real[] FROM \(unescaped: table) ORDER BY id"),
                                      into: vectors, progress: progress, total: n)
            progress?(ids.count, n)
            return (ids, vectors, GalleryState(uuid: info.uuid, generation: generation))
        }
    }

    public func vectors(ids: [Int]) throws -> Tensor? {
        let d = info.dimension
        let result = try session.query("""
            SELECT q.i, t.embedding::real[] FROM unnest(\(ids.map(Int64.init))::bigint[]) WITH ORDINALITY AS q(id, i)
            JOIN \(unescaped: table) t ON t.id = q.id
            """)
        let out = Tensor(shape: [ids.count, d])
        var filled = 0
        for row in result {
            let (ordinal, vector) = try decoding { try row.decode((Int, [Float]).self) }
            guard (1...ids.count).contains(ordinal), vector.count == d else {
                throw GalleryStoreError.notAGallery(path: path, reason: "a vector has \(vector.count) components, not \(d)")
            }
            vector.withUnsafeBufferPointer { (out.pointer + (ordinal - 1) * d).update(from: $0.baseAddress!, count: d) }
            filled += 1
        }
        return filled == ids.count ? out : nil
    }

    public func existingPaths(_ paths: [String]) throws -> Set<String> {
        Set(try session.query("SELECT DISTINCT path FROM \(unescaped: table) WHERE path = ANY(\(paths)::text[])")
            .map { row in try decoding { try row.decode(String.self) } })
    }

    public func labelCounts() throws -> [(label: String, count: Int)] {
        try session.query("SELECT label, count(*) AS n FROM \(unescaped: table) GROUP BY label ORDER BY n DESC, label COLLATE \"C\"")
            .map { row in try decoding { try row.decode((String, Int).self) } }
    }

    public func ids(whereLabel keeps: (String) -> Bool) throws -> [Int] {
        var ids: [Int] = []
        for row in try session.query("SELECT id, label FROM \(unescaped: table) ORDER BY id") {
            let (id, label) = try decoding { try row.decode((Int, String).self) }
            if keeps(label) { ids.append(id) }
        }
        return ids
    }

    /// Copies the collection into a new SQLite gallery at `destination` (items, vectors, threshold;
    /// ids are the copy's own), built whole so that no half copy is left.
    public func snapshot(to destination: String) throws {
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw GalleryStoreError.cannotOpen(path: destination, reason: "a file is already there; choose another name")
        }
        try SQLiteGalleryStore.createWhole(at: destination, overwrite: false, dimension: info.dimension,
                                           modelFingerprint: info.modelFingerprint, similarity: info.similarity) { copy in
            try self.copy(into: copy)
        }
    }
}
