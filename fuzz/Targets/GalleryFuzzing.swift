import Akin
import Foundation
import GRDB

/// A gallery of three items whose rows and settings each input edits, as someone with the
/// sqlite3 shell could: any column of `items` and any value of `meta` set to any SQLite value
/// (NULL, integer, real, text or blob), rows deleted or copied. Then the gallery is opened, read,
/// and searched, by the store and by `Gallery`, which must answer with an error, never a crash.
enum GalleryFuzzing {
    static let path = ScratchFile.path("gallery.akin")
    /// The untouched gallery's bytes, written back before each input. An array, not Data: a Data
    /// in a global keeps its storage behind a tagged pointer that LeakSanitizer does not follow.
    static let pristine: [UInt8] = makePristine()

    static let itemColumns = ["id", "path", "label", "vector", "added", "metadata"]
    static let metaKeys = ["format", "dimension", "distance", "uuid", "threshold", "model", "generation", "next_id", "index"]

    static func makePristine() -> [UInt8] {
        removeFiles()
        do {
            let store = try SQLiteGalleryStore.create(at: path, dimension: 4, modelFingerprint: nil)
            let vectors: [Float] = [1, 0, 0, 0, 0.6, 0.8, 0, 0, 0, 0, 1, 0]
            _ = try store.add([NewItem(path: "a.png", label: "a"), NewItem(path: "b.png", label: "b", metadata: "{\"k\":1}"),
                               NewItem(path: "c.png", label: "a")], vectors: vectors)
            try store.setThreshold(0.5)
            try store.close()
            guard let data = FileManager.default.contents(atPath: path) else { fatalError("cannot read \(path)") }
            return [UInt8](data)
        } catch { fatalError("cannot make the gallery to fuzz: \(error)") }
    }

    static func removeFiles() {
        for suffix in ["", "-wal", "-shm", "-journal", ".index"] { unlink(path + suffix) }
    }

    static func run(_ data: Data) {
        _ = pristine
        removeFiles()
        defer { removeFiles() }
        guard FileManager.default.createFile(atPath: path, contents: Data(pristine)) else { fatalError("cannot write \(path)") }
        do {
            let database = try DatabaseQueue(path: path)
            var edits = EditReader(data)
            while let edit = edits.next() {
                // An edit SQLite refuses (a NULL in a NOT NULL column, text as the integer id) is skipped.
                try? database.write { db in try apply(edit, db) }
            }
            try database.close()
        } catch { fatalError("cannot edit the gallery copy: \(error)") }
        readEverything()
    }

    static func apply(_ edit: Edit, _ db: Database) throws {
        let row = "(SELECT rowid FROM items ORDER BY rowid LIMIT 1 OFFSET \(edit.row))"
        switch edit.target {
        case let .column(name): try db.execute(sql: "UPDATE items SET \(name) = ? WHERE rowid = \(row)", arguments: [edit.value])
        case let .meta(key): try db.execute(sql: "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", arguments: [key, edit.value])
        case .deleteRow: try db.execute(sql: "DELETE FROM items WHERE rowid = \(row)")
        case .copyRow:
            try db.execute(sql: "INSERT INTO items(id, path, label, vector, added, metadata) SELECT ?, path, label, vector, added, metadata FROM items WHERE rowid = \(row)",
                           arguments: [edit.value])
        }
    }

    static func readEverything() {
        guard let store = try? SQLiteGalleryStore.open(path) else { return }
        fuzzCheck(store.info.dimension > 0, "opened with dimension \(store.info.dimension)")
        _ = try? store.items()
        _ = try? store.items(ids: [0, 1, 2, 3, -1])
        _ = try? store.labelCounts()
        _ = try? store.idsAndState()
        _ = try? store.existingPaths(["a.png", "b.png"])
        if let all = try? store.allVectors() {
            fuzzCheck(all.vectors.shape == [all.ids.count, store.info.dimension], "vectors \(all.vectors.shape) for \(all.ids.count) ids")
        }
        _ = try? store.vectors(ids: [0, 2])
        _ = try? store.count
        _ = try? store.threshold
        try? store.close()

        guard let gallery = try? Gallery.open(path), gallery.info.dimension <= 4096 else { return }
        let query = (0..<gallery.info.dimension).map { Float($0 % 3) + 0.5 }
        for exact in [true, false] {
            if let result = try? gallery.search(query, k: 3, exact: exact) {
                fuzzCheck(result.hits.count <= 3, "\(result.hits.count) hits for k 3")
            }
        }
        _ = try? gallery.indexFreshness()
        try? gallery.close()
    }
}

/// One edit of the gallery copy.
struct Edit {
    enum Target {
        case column(String), meta(String), deleteRow, copyRow
    }
    var target: Target
    var row: Int
    var value: DatabaseValue
}

/// Reads edits from fuzz bytes: a byte choosing what and which row, one choosing the value's
/// type (NULL, integer, real, text, small integer, blob), one its length, then the value's bytes.
struct EditReader {
    var bytes: [UInt8]
    var position = 0

    init(_ data: Data) { bytes = [UInt8](data) }

    mutating func next() -> Edit? {
        guard position + 3 <= bytes.count else { return nil }
        let what = Int(bytes[position]), type = Int(bytes[position + 1])
        let length = min(Int(bytes[position + 2]), bytes.count - position - 3)
        position += 3
        let raw = Array(bytes[position..<position + length])
        position += length
        let targets = GalleryFuzzing.itemColumns.count + GalleryFuzzing.metaKeys.count + 2
        let choice = what % targets
        let target: Edit.Target
        if choice < GalleryFuzzing.itemColumns.count {
            target = .column(GalleryFuzzing.itemColumns[choice])
        } else if choice < GalleryFuzzing.itemColumns.count + GalleryFuzzing.metaKeys.count {
            target = .meta(GalleryFuzzing.metaKeys[choice - GalleryFuzzing.itemColumns.count])
        } else {
            target = choice == targets - 2 ? .deleteRow : .copyRow
        }
        return Edit(target: target, row: (what / targets) % 4, value: value(type: type % 6, raw))
    }

    func value(type: Int, _ raw: [UInt8]) -> DatabaseValue {
        var eight = [UInt8](repeating: 0, count: 8)
        for (i, byte) in raw.prefix(8).enumerated() { eight[i] = byte }
        let bits = eight.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        switch type {
        case 0: return .null
        case 1: return Int64(bitPattern: bits).databaseValue
        case 2: return Double(bitPattern: bits).databaseValue
        case 3: return String(decoding: raw, as: UTF8.self).databaseValue
        case 4: return Int64(raw.first ?? 0).databaseValue
        default: return Data(raw).databaseValue
        }
    }
}
