import Foundation
import GRDB
import Tensors

/// What a gallery holds: its settings, items, vectors and labels, read without changing anything.
extension SQLiteGalleryStore {
    public var indexSettings: IndexSettings? {
        get throws {
            try database.read { db in
                try GalleryRecords.indexSettings(try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'index'"), dimension: info.dimension, gallery: path)
            }
        }
    }

    /// What a search checks before it runs, in one read: the change counter, the index settings
    /// and the threshold (three reads would each cost a transaction, per query).
    public func searchState() throws -> (state: GalleryState, indexSettings: IndexSettings?, threshold: Float?) {
        try database.read { db in
            var values: [String: String] = [:]
            let select = try db.cachedStatement(sql: "SELECT key, value FROM meta WHERE key IN ('generation', 'index', 'threshold')")
            for row in try Row.fetchAll(select) {
                if let key = row["key"] as String?, let value = row["value"] as String? { values[key] = value }
            }
            guard let generation = values["generation"].flatMap(Int64.init) else {
                throw GalleryStoreError.notAGallery(path: path, reason: "meta generation is missing")
            }
            return (GalleryState(uuid: info.uuid, generation: generation),
                    try GalleryRecords.indexSettings(values["index"], dimension: info.dimension, gallery: path),
                    values["threshold"].flatMap(Float.init))
        }
    }

    /// SQLite's own consistency check of the whole file ("ok" when sound).
    public func integrityCheck() throws -> String {
        try database.read { try String.fetchAll($0, sql: "PRAGMA integrity_check").joined(separator: "; ") }
    }

    /// SQLite's journal mode for this file ("wal").
    public var journalMode: String {
        get throws { try database.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") ?? "" } }
    }

    /// Every item id with the state they were read at (one read transaction).
    public func idsAndState() throws -> (ids: [Int], state: GalleryState) {
        try database.read { db in
            (try Int.fetchAll(db, sql: "SELECT id FROM items ORDER BY id"),
             GalleryState(uuid: info.uuid, generation: Int64(try Self.metaInt(db, "generation"))))
        }
    }

    /// The stored threshold as it is now (another process may have calibrated since opening).
    public var threshold: Float? {
        get throws { try database.read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'threshold'").flatMap(Float.init) } }
    }

    public var count: Int {
        get throws { try database.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM items") ?? 0 } }
    }

    public var state: GalleryState {
        get throws { try database.read { GalleryState(uuid: info.uuid, generation: Int64(try Self.metaInt($0, "generation"))) } }
    }

    /// The items with these ids (missing ids are left out), keyed by id.
    public func items(ids: [Int]) throws -> [Int: StoredItem] {
        try database.read { db in
            let select = try db.cachedStatement(sql: "SELECT id, path, label, added, metadata FROM items WHERE id = ?")
            var found: [Int: StoredItem] = [:]
            for id in Set(ids) {
                if let row = try Row.fetchOne(select, arguments: [id]) { found[id] = try item(row) }
            }
            return found
        }
    }

    /// Every vector in id order, and the state they were read at (one read transaction, so the two agree).
    public func allVectors(progress: ((Int, Int) -> Void)?) throws -> (ids: [Int], vectors: Tensor, state: GalleryState) {
        let d = info.dimension
        return try database.read { db in
            let n = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM items") ?? 0
            let state = GalleryState(uuid: info.uuid, generation: Int64(try Self.metaInt(db, "generation")))
            let vectors = Tensor(shape: [n, d])
            var ids: [Int] = []
            ids.reserveCapacity(n)
            let rows = try Row.fetchCursor(db, sql: "SELECT id, vector FROM items ORDER BY id")
            while let row = try rows.next() {
                let id: Int = try decoded(row, "id"), blob: Data = try decoded(row, "vector")
                try GalleryRecords.checkVector(blob, id: id, dimension: d, gallery: path)
                blob.withUnsafeBytes { raw in
                    (vectors.pointer + ids.count * d).update(from: raw.bindMemory(to: Float.self).baseAddress!, count: d)
                }
                ids.append(id)
                if ids.count % 65536 == 0 { progress?(ids.count, n) }
            }
            progress?(ids.count, n)
            return (ids, vectors, state)
        }
    }

    /// The vectors of these ids ([ids.count, D]); nil for an id not in the gallery.
    public func vectors(ids: [Int]) throws -> Tensor? {
        let d = info.dimension
        return try database.read { db in
            let out = Tensor(shape: [ids.count, d])
            let select = try db.makeStatement(sql: "SELECT vector FROM items WHERE id = ?")
            for (i, id) in ids.enumerated() {
                guard let blob = try Data.fetchOne(select, arguments: [id]), blob.count == d * 4 else { return nil }
                blob.withUnsafeBytes { (out.pointer + i * d).update(from: $0.bindMemory(to: Float.self).baseAddress!, count: d) }
            }
            return out
        }
    }

    /// Which of `paths` some item already has.
    public func existingPaths(_ paths: [String]) throws -> Set<String> {
        try database.read { db in
            var found = Set<String>()
            // SQLite allows some hundreds of parameters a statement: ask in chunks.
            var start = 0
            while start < paths.count {
                let chunk = Array(paths[start..<min(start + 500, paths.count)])
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ", ")
                for path in try String.fetchAll(db, sql: "SELECT DISTINCT path FROM items WHERE path IN (\(marks))",
                                                arguments: StatementArguments(chunk)) {
                    found.insert(path)
                }
                start += chunk.count
            }
            return found
        }
    }

    /// Item count per label, largest first.
    public func labelCounts() throws -> [(label: String, count: Int)] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT label, COUNT(*) AS n FROM items GROUP BY label ORDER BY n DESC, label")
                .map { (try decoded($0, "label"), try decoded($0, "n")) }
        }
    }
}
