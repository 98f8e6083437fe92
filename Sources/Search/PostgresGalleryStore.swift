import Foundation
import PostgresNIO
import Synchronization
import Tensors

/// A gallery kept as a collection in a PostgreSQL database with pgvector (``PostgresSchema``):
/// many processes and machines can add to it and search it at once. Adds and removes are one
/// transaction each, as with SQLite; the collection's row in `akin.galleries` is locked by each,
/// so ids and the change counter stay in order. Searches run in the database, through pgvector's
/// HNSW index when one was built (``buildIndex(_:)``), exactly otherwise (``search(_:k:exact:efSearch:labels:excludingLabels:)``).
public final class PostgresGalleryStore: GalleryStore, @unchecked Sendable {
    public let address: PostgresAddress
    public let info: GalleryInfo
    /// How long a write waits for another writer of the collection before it is `locked`.
    public let lockTimeout: TimeInterval
    let session: PostgresSession
    /// What the store remembers between calls, behind a lock: a store may be used from several threads.
    struct Memory {
        /// The value of `hnsw.ef_search` the connection was last set to (nil: the server's default).
        var efSearch: Int?
        /// The item count the last read of the collection's row saw (a search reads it with the
        /// change counter, so the search after needs no query of its own for it).
        var count: Int?
        /// The hits of the last search with their items, read in the same query: the `items(ids:)`
        /// that follows a search is answered from them instead of another round trip.
        var hitItems: [Int: StoredItem] = [:]
    }
    let memory = Mutex(Memory())
    /// The shard servers of a sharded gallery (nil: its items are in this database).
    public let shards: [PostgresAddress]?
    public var isSharded: Bool { shards != nil }

    public var path: String { address.description }
    var table: String { PostgresSchema.itemsTable(address.collection) }

    private init(address: PostgresAddress, session: PostgresSession, info: GalleryInfo, lockTimeout: TimeInterval = SQLiteGalleryStore.busyTimeout,
                 shards: [PostgresAddress]?) {
        self.address = address
        self.shards = shards
        self.lockTimeout = lockTimeout
        self.session = session
        self.info = info
    }

    /// Makes a new, empty collection; refuses one that exists. With `shards` (two or more
    /// `postgres://USER@HOST:PORT/DATABASE` servers), its items are spread over them by the hash of
    /// their id, and `address` is the coordinator (``PostgresShards``).
    public static func create(_ address: PostgresAddress, dimension: Int, modelFingerprint: String?,
                              similarity: GallerySimilarity = .cosine, shards: [String] = []) throws -> PostgresGalleryStore {
        guard (1...PostgresSchema.maximumDimension).contains(dimension) else {
            throw GalleryStoreError.badDimension(path: address.description, dimension: dimension)
        }
        let shardAddresses = shards.isEmpty ? nil : try PostgresShards.addresses(shards, collection: address.collection, coordinator: address)
        let session = try PostgresSession(address)
        do {
            let info = GalleryInfo(modelFingerprint: modelFingerprint, dimension: dimension, similarity: similarity, threshold: nil,
                                   uuid: UUID().uuidString)
            try session.transaction {
                try PostgresSchema.prepare(session)
                try make(address.collection, info: info, in: session, shards: shardAddresses)
            }
            try configure(session, readOnly: false, lockTimeout: SQLiteGalleryStore.busyTimeout)
            return PostgresGalleryStore(address: address, session: session, info: info, shards: shardAddresses)
        } catch {
            session.close()
            throw error
        }
    }

    /// Inserts the collection's row and creates its items table (inside the caller's transaction).
    static func make(_ collection: String, info: GalleryInfo, in session: PostgresSession, shards: [PostgresAddress]? = nil) throws {
        let taken = try session.query("SELECT 1 FROM akin.galleries WHERE name = \(collection) FOR UPDATE").decodeFirst(Int.self)
        guard taken == nil else { throw GalleryStoreError.exists(try session.address.with(collection: collection).description) }
        try session.query("""
            INSERT INTO akin.galleries (name, dimension, distance, uuid, model, shards)
            VALUES (\(collection), \(info.dimension), \(info.similarity.rawValue), \(info.uuid), \(info.modelFingerprint),
                    \(shards.map(PostgresShards.encode)))
            """)
        let table = PostgresSchema.itemsTable(collection)
        try session.query("DROP TABLE IF EXISTS \(unescaped: table) CASCADE")
        if let shards {
            try PostgresShards.create(collection, dimension: info.dimension, shards: shards, coordinator: session)
        } else {
            try PostgresSchema.createItemsTable(table, dimension: info.dimension, in: session)
        }
    }

    /// Opens an existing collection. `readOnly` makes the connection's transactions read-only;
    /// `lockTimeout` bounds how long a write waits for another writer of the collection.
    public static func open(_ address: PostgresAddress, readOnly: Bool = false,
                            lockTimeout: TimeInterval = SQLiteGalleryStore.busyTimeout) throws -> PostgresGalleryStore {
        let session = try PostgresSession(address)
        do {
            try PostgresSchema.check(session)
            guard let row = try session.query("""
                SELECT dimension, distance, uuid, model, threshold, shards FROM akin.galleries WHERE name = \(address.collection)
                """).first else { throw GalleryStoreError.missing(address.description) }
            let (dimension, distance, uuid, model, threshold, shards) = try row.decode((Int, String, String, String?, Float?, String?).self)
            guard (1...PostgresSchema.maximumDimension).contains(dimension), let similarity = GallerySimilarity(rawValue: distance) else {
                throw GalleryStoreError.notAGallery(path: address.description, reason: "its row in akin.galleries has dimension \(dimension) and distance \(distance)")
            }
            try configure(session, readOnly: readOnly, lockTimeout: lockTimeout)
            return PostgresGalleryStore(address: address, session: session,
                                        info: GalleryInfo(modelFingerprint: model, dimension: dimension, similarity: similarity,
                                                          threshold: threshold, uuid: uuid), lockTimeout: lockTimeout,
                                        shards: try PostgresShards.decode(shards, collection: address.collection, coordinator: address))
        } catch {
            session.close()
            throw error
        }
    }

    /// The connection's settings for a gallery's work.
    private static func configure(_ session: PostgresSession, readOnly: Bool, lockTimeout: TimeInterval) throws {
        if readOnly { try session.set("default_transaction_read_only", "on") }
        // 0 would mean "wait forever" to PostgreSQL.
        try session.set("lock_timeout", String(max(1, Int(lockTimeout * 1000))))
        session.lockTimeout = lockTimeout
        // pgvector 0.8: a filtered HNSW search keeps scanning until it has k rows that pass the
        // filter, in exact order of distance, instead of filtering ef_search candidates.
        try session.set("hnsw.iterative_scan", "strict_order")
    }

    /// The collections of the database at `database` (`postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`),
    /// by name; none when Akin's tables are not there yet. Collections being built are left out.
    public static func collections(in database: String) throws -> [String] {
        guard PostgresAddress.looksLike(database), !database.contains("?") else {
            throw GalleryStoreError.badAddress(PostgresAddress.withoutPassword(database), reason: "a database is postgres://USER@HOST:PORT/DATABASE, without ?collection")
        }
        let session = try PostgresSession(try PostgresAddress(database + "?collection=akin"))
        defer { session.close() }
        do { try PostgresSchema.check(session) } catch GalleryStoreError.missing { return [] }
        return try session.query("SELECT name FROM akin.galleries WHERE name NOT LIKE '%\\_building\\_%' ORDER BY name")
            .map { try $0.decode(String.self) }
    }

    /// Whether the collection exists.
    public static func exists(_ address: PostgresAddress) throws -> Bool {
        let session = try PostgresSession(address)
        defer { session.close() }
        do { try PostgresSchema.check(session) } catch GalleryStoreError.missing { return false }
        return try session.query("SELECT 1 FROM akin.galleries WHERE name = \(address.collection)").decodeFirst(Int.self) != nil
    }

    /// Makes a whole collection at once: filled under a temporary name, then renamed into place in
    /// one transaction, so the address never names half a gallery. With `overwrite`, a collection
    /// already there is dropped in that same transaction.
    public static func createWhole(_ address: PostgresAddress, overwrite: Bool, dimension: Int, modelFingerprint: String?,
                                   similarity: GallerySimilarity = .cosine, fill: (any GalleryStore) throws -> Void) throws {
        if !overwrite, try exists(address) { throw GalleryStoreError.exists(address.description) }
        if overwrite { try refuseSharded(address) }
        // A random name: processes on other machines (or containers sharing a pid) may build at once.
        let temporary = try address.with(collection: "\(address.collection.prefix(16))_building_"
                                          + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12))
        let store = try create(temporary, dimension: dimension, modelFingerprint: modelFingerprint, similarity: similarity)
        do {
            try fill(store)
            try store.session.transaction {
                let session = store.session
                let existing = try session.query("SELECT shards FROM akin.galleries WHERE name = \(address.collection) FOR UPDATE").first
                if let existing {
                    guard overwrite else { throw GalleryStoreError.exists(address.description) }
                    // Made sharded while this one was filled: the check above, again under the row's lock.
                    if let shards = try existing.decode(String?.self) { throw Self.shardedOverwrite(address, shards) }
                    try session.query("DROP TABLE IF EXISTS \(unescaped: PostgresSchema.itemsTable(address.collection)) CASCADE")
                    try session.query("DELETE FROM akin.galleries WHERE name = \(address.collection)")
                }
                try session.query("ALTER TABLE \(unescaped: store.table) RENAME TO \(unescaped: "\"items_\(address.collection)\"")")
                try session.query("UPDATE akin.galleries SET name = \(address.collection) WHERE name = \(temporary.collection)")
            }
            store.session.close()
        } catch {
            store.session.close()
            _ = try? drop(temporary)
            throw error
        }
    }

    /// A whole-gallery build (`embed --overwrite`) replaces a collection with one on this server:
    /// done to a sharded one, it would quietly unshard it (and orphan its shards' tables), so it is refused.
    private static func refuseSharded(_ address: PostgresAddress) throws {
        let session = try PostgresSession(address)
        defer { session.close() }
        guard try session.query("SELECT to_regclass('akin.galleries') IS NOT NULL").decodeFirst(Bool.self) == true,
              let shards = try session.query("SELECT shards FROM akin.galleries WHERE name = \(address.collection)").first?.decode(String?.self)
        else { return }
        throw shardedOverwrite(address, shards)
    }

    private static func shardedOverwrite(_ address: PostgresAddress, _ shards: String) -> GalleryStoreError {
        let count = (try? JSONDecoder().decode([String].self, from: Data(shards.utf8)).count) ?? 0
        return .notSupported(path: address.description, reason: "it is sharded over \(count) servers, and replacing it would put it on one; add to it (`akin embed --shard`, `akin gallery add`), or drop it (`akin gallery drop`) and make it again with `akin gallery create --shards`")
    }

    /// Drops the collection, its items and its index; true when there was one. A sharded
    /// collection's shard tables are dropped once the coordinator has committed: a failed drop
    /// leaves the collection whole, and a shard that cannot be reached then keeps an unused table.
    @discardableResult
    public static func drop(_ address: PostgresAddress) throws -> Bool {
        let session = try PostgresSession(address)
        defer { session.close() }
        let (existed, shards) = try session.transaction { () throws -> (Bool, [PostgresAddress]?) in
            do { try PostgresSchema.check(session) } catch GalleryStoreError.missing { return (false, nil) }
            let row = try session.query("DELETE FROM akin.galleries WHERE name = \(address.collection) RETURNING shards").first
            try session.query("DROP TABLE IF EXISTS \(unescaped: PostgresSchema.itemsTable(address.collection)) CASCADE")
            let shards = try PostgresShards.decode(try row?.decode(String?.self), collection: address.collection, coordinator: address)
            if let shards { try PostgresShards.dropServers(address.collection, count: shards.count, coordinator: session) }
            return (row != nil, shards)
        }
        if let shards { PostgresShards.dropTables(address.collection, shards: shards) }
        return existed
    }

    public func close() throws { session.close() }

    // MARK: Changes

    /// Locks the collection's row for this transaction, and reads its next id; a collection
    /// dropped meanwhile is `missing`, another writer holding the row past `lock_timeout` is `locked`.
    private func lockRow() throws -> Int {
        guard let next = try session.query("SELECT next_id FROM akin.galleries WHERE name = \(address.collection) FOR UPDATE").decodeFirst(Int.self) else {
            throw GalleryStoreError.missing(path)
        }
        return next
    }

    /// Rows sent to the server in one statement: bounds a statement's parameters (PostgreSQL takes at most 1 GB a value).
    static let rowsPerStatement = 4096

    @discardableResult
    public func add(_ items: [NewItem], vectors: UnsafePointer<Float>) throws -> [Int] {
        let d = info.dimension
        try validate(items, vectors: vectors)
        memory.withLock { $0.hitItems = [:] }
        let now = Date().timeIntervalSince1970
        // A sharded add's rows commit on each shard as the coordinator commits (postgres_fdw has no
        // two-phase commit): a shard failing then can leave the batch's rows on the others while the
        // coordinator rolls back. Its ids are taken first, in a transaction of their own, so they
        // are never given out again (rows left that way are visible, though not counted).
        let reserved: Int? = shards == nil ? nil : try session.transaction {
            let next = try lockRow()
            try session.query("UPDATE akin.galleries SET next_id = next_id + \(items.count) WHERE name = \(address.collection)")
            return next
        }
        return try session.transaction {
            let first = try reserved ?? lockRow()
            var start = 0
            while start < items.count {
                let end = min(start + Self.rowsPerStatement, items.count)
                var flat = Array(UnsafeBufferPointer(start: vectors + start * d, count: (end - start) * d))
                if info.similarity == .cosine {
                    flat.withUnsafeMutableBufferPointer { rows in
                        for row in 0..<(end - start) { VectorMath.normalize(rows.baseAddress! + row * d, count: d) }
                    }
                }
                let chunk = items[start..<end]
                let ids = (first + start..<first + end).map { Int64($0) }
                // One statement per chunk: arrays of each column, and the vectors as one flat
                // real[] that each row slices its own D values from. NULL metadata travels as a
                // flag beside an empty string (postgres-nio encodes no arrays of optionals).
                try session.query("""
                    INSERT INTO \(unescaped: table) (id, path, label, added, metadata, embedding)
                    SELECT u.id, u.path, u.label, \(now), CASE WHEN u.has THEN u.meta END,
                           (\(flat)::real[])[(u.i - 1) * \(unescaped: String(d)) + 1 : u.i * \(unescaped: String(d))]::vector
                    FROM unnest(\(ids)::bigint[], \(chunk.map(\.path))::text[], \(chunk.map(\.label))::text[],
                                \(chunk.map { $0.metadata ?? "" })::text[], \(chunk.map { $0.metadata != nil })::bool[])
                         WITH ORDINALITY AS u(id, path, label, meta, has, i)
                    """)
                start = end
            }
            try session.query("""
                UPDATE akin.galleries SET next_id = next_id + \(reserved == nil ? items.count : 0), item_count = item_count + \(items.count),
                       generation = generation + 1 WHERE name = \(address.collection)
                """)
            return Array(first..<first + items.count)
        }
    }

    @discardableResult
    public func remove(ids: [Int]) throws -> Int {
        memory.withLock { $0.hitItems = [:] }
        return try session.transaction {
            _ = try lockRow()
            let removed = try session.query("DELETE FROM \(unescaped: table) WHERE id = ANY(\(ids.map(Int64.init))::bigint[])").metadata.rows ?? 0
            if removed > 0 {
                try session.query("""
                    UPDATE akin.galleries SET item_count = item_count - \(removed), generation = generation + 1
                    WHERE name = \(address.collection)
                    """)
            }
            return removed
        }
    }

    public func setThreshold(_ threshold: Float?) throws {
        try session.transaction {
            _ = try lockRow()
            try session.query("UPDATE akin.galleries SET threshold = \(threshold) WHERE name = \(address.collection)")
        }
    }

    public func setIndexSettings(_ settings: IndexSettings?) throws {
        let json = try settings.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        try session.transaction {
            _ = try lockRow()
            try session.query("UPDATE akin.galleries SET index_settings = \(json) WHERE name = \(address.collection)")
        }
    }
}
