import Foundation
import GRDB
import Tensors

/// The gallery: an SQLite database (through GRDB) that is the source of truth for items and their
/// vectors. WAL journal with full sync, and every add or remove one transaction, so a crash loses
/// nothing that was acknowledged and leaves nothing half-added. Indexes are derived from it.
public final class SQLiteGalleryStore: GalleryStore, @unchecked Sendable {
    public static let format = "akin-gallery-sqlite-1"
    public let path: String
    public let info: GalleryInfo
    let database: DatabaseQueue

    /// Seconds a write waits for another process's write lock before it fails with `GalleryStoreError.locked`.
    public static let busyTimeout: TimeInterval = 10
    /// This store's wait for another process's write lock (`open`'s `lockTimeout`).
    public let lockTimeout: TimeInterval

    private static func configuration(readOnly: Bool, lockTimeout: TimeInterval = busyTimeout) -> Configuration {
        var configuration = Configuration()
        configuration.readonly = readOnly
        configuration.busyMode = .timeout(lockTimeout)
        configuration.prepareDatabase { db in
            if !db.configuration.readonly {
                try db.execute(sql: "PRAGMA journal_mode = WAL")
            }
            // Full sync: a transaction that returned is on disk, even through a power cut.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        return configuration
    }

    private init(path: String, database: DatabaseQueue, info: GalleryInfo, lockTimeout: TimeInterval = busyTimeout) {
        self.path = path
        self.lockTimeout = lockTimeout
        self.database = database
        self.info = info
    }

    /// Makes a new, empty gallery. Refuses to overwrite an existing file.
    public static func create(at path: String, dimension: Int, modelFingerprint: String?,
                              similarity: GallerySimilarity = .cosine) throws -> SQLiteGalleryStore {
        guard (1...GalleryInfo.maximumDimension).contains(dimension) else { throw GalleryStoreError.badDimension(path: path, dimension: dimension) }
        guard !FileManager.default.fileExists(atPath: path) else { throw GalleryStoreError.exists(path) }
        let database: DatabaseQueue
        do { database = try DatabaseQueue(path: path, configuration: configuration(readOnly: false)) }
        catch { throw GalleryStoreError.cannotOpen(path: path, reason: "\(error)") }
        let info = GalleryInfo(modelFingerprint: modelFingerprint, dimension: dimension, similarity: similarity,
                               threshold: nil, uuid: UUID().uuidString)
        try database.write { db in
            try db.execute(sql: """
                CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
                CREATE TABLE items (
                    id INTEGER PRIMARY KEY NOT NULL,
                    path TEXT NOT NULL,
                    label TEXT NOT NULL,
                    vector BLOB NOT NULL,
                    added REAL NOT NULL,
                    metadata TEXT);
                CREATE INDEX items_label ON items(label);
                """)
            let meta: [(String, String)] = [
                ("format", format), ("dimension", String(dimension)), ("distance", similarity.rawValue),
                ("uuid", info.uuid), ("generation", "0"), ("next_id", "0"),
            ] + (modelFingerprint.map { [("model", $0)] } ?? [])
            for (key, value) in meta {
                try db.execute(sql: "INSERT INTO meta (key, value) VALUES (?, ?)", arguments: [key, value])
            }
        }
        return SQLiteGalleryStore(path: path, database: database, info: info)
    }

    /// Makes a whole gallery at once (`akin embed`, conversions): it is filled under a temporary
    /// name and renamed into place only when complete, so `path` never holds half a gallery. With
    /// `overwrite`, a gallery already at `path` is replaced, and its index file removed.
    public static func createWhole(at path: String, overwrite: Bool, dimension: Int, modelFingerprint: String?,
                                   similarity: GallerySimilarity = .cosine, fill: (SQLiteGalleryStore) throws -> Void) throws {
        let manager = FileManager.default
        guard overwrite || !manager.fileExists(atPath: path) else { throw GalleryStoreError.exists(path) }
        LeftoverFiles.removeDead(besides: path)
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(LeftoverFiles.prefix(of: path) + "\(getpid())").path
        let leftovers = { for suffix in ["", "-wal", "-shm", "-journal"] { try? manager.removeItem(atPath: temporary + suffix) } }
        leftovers()
        do {
            let store = try create(at: temporary, dimension: dimension, modelFingerprint: modelFingerprint, similarity: similarity)
            try fill(store)
            try store.close()
        } catch {
            leftovers()
            throw error
        }
        // The gallery being replaced may be in use: take its write lock first (waiting as long as
        // any write would), so no other process is writing it while it is replaced.
        let lock = try manager.fileExists(atPath: path) ? writeLock(on: path) : nil
        defer {
            try? lock?.writeWithoutTransaction { try $0.execute(sql: "ROLLBACK") }
            try? lock?.close()
        }
        if let lock {
            do { try lock.writeWithoutTransaction { try $0.execute(sql: "BEGIN EXCLUSIVE TRANSACTION") } }
            catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
                leftovers()
                throw GalleryStoreError.locked(path: path, seconds: busyTimeout)
            }
        }
        for suffix in ["-wal", "-shm", ".index"] { try? manager.removeItem(atPath: path + suffix) }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            leftovers()
            throw GalleryStoreError.cannotOpen(path: path, reason: "cannot move the finished gallery into place: \(reason)")
        }
    }

    /// Closes the database (a checkpoint folds the WAL back into the file); the store is unusable afterwards.
    public func close() throws { try database.close() }

    /// A connection to the gallery at `path` that takes nothing yet, for `createWhole`'s lock;
    /// a lock held elsewhere past the busy timeout is `GalleryStoreError.locked`.
    private static func writeLock(on path: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        // The lock is a transaction left open across accesses (BEGIN, then ROLLBACK in another), which GRDB stops unless allowed.
        configuration.allowsUnsafeTransactions = true
        do { return try DatabaseQueue(path: path, configuration: configuration) }
        catch { throw GalleryStoreError.cannotOpen(path: path, reason: "\(error)") }
    }

    /// Opens an existing gallery; a file that is not one is refused with the reason. Temporary
    /// files a killed `akin embed` or conversion left beside it are removed. A write waits up to
    /// `lockTimeout` seconds for another process's write lock (a server answering requests may want less).
    public static func open(_ path: String, readOnly: Bool = false, lockTimeout: TimeInterval = busyTimeout) throws -> SQLiteGalleryStore {
        guard FileManager.default.fileExists(atPath: path) else { throw GalleryStoreError.missing(path) }
        if !readOnly { LeftoverFiles.removeDead(besides: path) }
        if let head = FileHandle(forReadingAtPath: path).map({ handle in defer { try? handle.close() }; return handle.readData(ofLength: 16) }),
           !head.starts(with: Data("SQLite format 3".utf8)) {
            throw GalleryStoreError.notAGallery(path: path, reason: head.count >= 8 && SafeTensorsGallery.looksLike(head)
                ? "it is an older safetensors gallery; convert it with `akin gallery convert \(path) --out NEW.akin`"
                : "it is not an SQLite database")
        }
        let database: DatabaseQueue
        do { database = try DatabaseQueue(path: path, configuration: configuration(readOnly: readOnly, lockTimeout: lockTimeout)) }
        catch { throw GalleryStoreError.cannotOpen(path: path, reason: "\(error)") }
        let meta: [String: String]
        do {
            meta = try database.read { db in
                guard try db.tableExists("meta") && db.tableExists("items") else { return [:] }
                // Throwing decodes and the first of repeated keys: a hand-edited table must not stop the process.
                return Dictionary(try Row.fetchAll(db, sql: "SELECT key, value FROM meta").map {
                    (try $0.decode(String.self, forColumn: "key"), try $0.decode(String.self, forColumn: "value"))
                }, uniquingKeysWith: { first, _ in first })
            }
        } catch { throw GalleryStoreError.notAGallery(path: path, reason: "\(error)") }
        let info = try GalleryRecords.info(meta: meta, gallery: path)
        return SQLiteGalleryStore(path: path, database: database, info: info, lockTimeout: lockTimeout)
    }

    // MARK: Changes

    /// A write transaction; another process's write lock held past `lockTimeout` is `GalleryStoreError.locked`.
    private func writing<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try database.write(body) }
        catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
            throw GalleryStoreError.locked(path: path, seconds: lockTimeout)
        }
    }

    /// Adds items with their vectors ([count, dimension]) in one transaction; returns their ids.
    /// Cosine galleries store the vectors scaled to unit length.
    @discardableResult
    public func add(_ items: [NewItem], vectors: UnsafePointer<Float>) throws -> [Int] {
        let d = info.dimension
        try validate(items, vectors: vectors)
        let now = Date().timeIntervalSince1970
        return try writing { db in
            var next = try Self.metaInt(db, "next_id")
            var ids: [Int] = []
            ids.reserveCapacity(items.count)
            let insert = try db.makeStatement(sql: "INSERT INTO items (id, path, label, vector, added, metadata) VALUES (?, ?, ?, ?, ?, ?)")
            var row = [Float](repeating: 0, count: d)
            for (i, item) in items.enumerated() {
                row.withUnsafeMutableBufferPointer { buffer in
                    buffer.baseAddress!.update(from: vectors + i * d, count: d)
                    if info.similarity == .cosine { VectorMath.normalize(buffer.baseAddress!, count: d) }
                }
                let blob = row.withUnsafeBytes { Data($0) }
                try insert.execute(arguments: [next, item.path, item.label, blob, now, item.metadata])
                ids.append(next)
                next += 1
            }
            try Self.setMeta(db, "next_id", String(next))
            try Self.bumpGeneration(db)
            return ids
        }
    }

    /// Removes items in one transaction; returns how many existed.
    @discardableResult
    public func remove(ids: [Int]) throws -> Int {
        try writing { db in
            var removed = 0
            let delete = try db.makeStatement(sql: "DELETE FROM items WHERE id = ?")
            for id in ids {
                try delete.execute(arguments: [id])
                removed += db.changesCount
            }
            if removed > 0 { try Self.bumpGeneration(db) }
            return removed
        }
    }

    /// Stores the "no match" threshold for `search` (nil clears it).
    public func setThreshold(_ threshold: Float?) throws {
        try writing { db in
            if let threshold { try Self.setMeta(db, "threshold", String(threshold)) }
            else { try db.execute(sql: "DELETE FROM meta WHERE key = 'threshold'") }
        }
    }

    /// Records which index `search` should use (nil: exact search).
    public func setIndexSettings(_ settings: IndexSettings?) throws {
        try writing { db in
            if let settings {
                try Self.setMeta(db, "index", String(decoding: try JSONEncoder().encode(settings), as: UTF8.self))
            } else {
                try db.execute(sql: "DELETE FROM meta WHERE key = 'index'")
            }
        }
    }

    // MARK: Helpers

    func item(_ row: Row) throws -> StoredItem { try GalleryRecords.item(row, gallery: path) }

    func decoded<Value: DatabaseValueConvertible>(_ row: Row, _ column: String) throws -> Value {
        try GalleryRecords.column(row, column, gallery: path)
    }

    static func metaInt(_ db: Database, _ key: String) throws -> Int {
        guard let text = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [key]),
              let value = Int(text) else { throw GalleryStoreError.notAGallery(path: db.description, reason: "meta \(key) is missing") }
        return value
    }

    private static func setMeta(_ db: Database, _ key: String, _ value: String) throws {
        try db.execute(sql: "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                       arguments: [key, value])
    }

    private static func bumpGeneration(_ db: Database) throws {
        try setMeta(db, "generation", String(try metaInt(db, "generation") + 1))
    }
}
