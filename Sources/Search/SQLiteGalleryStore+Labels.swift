import Foundation
import GRDB

/// Items chosen by label, and a consistent copy of the file: what a service pages, removes and backs up.
extension SQLiteGalleryStore {
    /// Items in id order after `afterID`, `limit` at most, whose label is one of `labels` (all items when nil).
    public func items(afterID: Int, limit: Int, labels: Set<String>?) throws -> [StoredItem] {
        guard let labels else {
            return try database.read { db in
                try Row.fetchAll(db, sql: "SELECT id, path, label, added, metadata FROM items WHERE id > ? ORDER BY id LIMIT ?",
                                 arguments: [afterID, Int64(min(limit, Int(Int64.max)))]).map { try item($0) }
            }
        }
        if labels.isEmpty { return [] }
        return try database.read { db in
            let marks = Array(repeating: "?", count: labels.count).joined(separator: ", ")
            var values: [(any DatabaseValueConvertible)?] = [afterID]
            values += labels.sorted().map { $0 as (any DatabaseValueConvertible)? }
            values.append(Int64(min(limit, Int(Int64.max))))
            let arguments = StatementArguments(values)
            return try Row.fetchAll(db, sql: "SELECT id, path, label, added, metadata FROM items WHERE id > ? AND label IN (\(marks)) ORDER BY id LIMIT ?",
                                    arguments: arguments).map { try item($0) }
        }
    }

    /// The ids of the items whose label `keeps` admits, in id order.
    public func ids(whereLabel keeps: (String) -> Bool) throws -> [Int] {
        try database.read { db in
            var ids: [Int] = []
            let rows = try Row.fetchCursor(db, sql: "SELECT id, label FROM items ORDER BY id")
            while let row = try rows.next() {
                let label: String = try decoded(row, "label")
                if keeps(label) { ids.append(try decoded(row, "id")) }
            }
            return ids
        }
    }

    /// Writes a consistent copy of the gallery to `destination` (SQLite's `VACUUM INTO`) while it
    /// stays open for reading and writing; refuses an existing destination.
    public func snapshot(to destination: String) throws {
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw GalleryStoreError.cannotOpen(path: destination, reason: "a file is already there; choose another name")
        }
        do { try database.writeWithoutTransaction { try $0.execute(sql: "VACUUM INTO ?", arguments: [destination]) } }
        catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
            throw GalleryStoreError.locked(path: path, seconds: lockTimeout)
        }
    }
}
