import Foundation
import GRDB

/// How a gallery's stored rows and settings become values. SQLite keeps any value in any column,
/// so a hand-edited or damaged file can hold NULL, text or a blob of any length anywhere: every
/// column is checked here, and a bad one is an error naming the gallery and the column, never a
/// trap. `SQLiteGalleryStore` reads through these, and the `galleryRows` fuzzer drives them directly.
public enum GalleryRecords {
    /// A column of a row as `Value`, or `notAGallery` naming the column when it holds NULL or
    /// another type (GRDB's subscript would stop the process instead).
    public static func column<Value: DatabaseValueConvertible>(_ row: Row, _ column: String, gallery: String) throws -> Value {
        do { return try row.decode(Value.self, forColumn: column) } catch {
            throw GalleryStoreError.notAGallery(path: gallery, reason: "a row's \(column) cannot be read (\(error)); the file was changed by hand or is damaged")
        }
    }

    /// An `items` row without its vector: id, path, label, added, metadata.
    public static func item(_ row: Row, gallery: String) throws -> StoredItem {
        StoredItem(id: try column(row, "id", gallery: gallery), path: try column(row, "path", gallery: gallery),
                   label: try column(row, "label", gallery: gallery),
                   added: Date(timeIntervalSince1970: try column(row, "added", gallery: gallery)),
                   metadata: try column(row, "metadata", gallery: gallery))
    }

    /// Refuses a stored vector whose byte count is not `dimension` floats.
    public static func checkVector(_ blob: Data, id: Int, dimension: Int, gallery: String) throws {
        guard blob.count == dimension * MemoryLayout<Float>.size else {
            throw GalleryStoreError.notAGallery(path: gallery, reason: "item \(id)'s vector has \(blob.count) bytes, not \(dimension * 4)")
        }
    }

    /// The gallery's description from its `meta` table.
    public static func info(meta: [String: String], gallery: String) throws -> GalleryInfo {
        guard meta["format"] == SQLiteGalleryStore.format else {
            throw GalleryStoreError.notAGallery(path: gallery, reason: "it has no \(SQLiteGalleryStore.format) format mark")
        }
        guard let dimension = meta["dimension"].flatMap(Int.init), (1...GalleryInfo.maximumDimension).contains(dimension),
              let similarity = meta["distance"].flatMap(GallerySimilarity.init(rawValue:)), let uuid = meta["uuid"]
        else { throw GalleryStoreError.notAGallery(path: gallery, reason: "its dimension, distance or uuid is missing or unreadable") }
        return GalleryInfo(modelFingerprint: meta["model"], dimension: dimension, similarity: similarity,
                           threshold: meta["threshold"].flatMap(Float.init), uuid: uuid)
    }

    /// The stored index settings (`meta` key `index`), nil when none were stored; JSON that does
    /// not decode, or settings no index can be built with, are refused rather than ignored.
    public static func indexSettings(_ json: String?, dimension: Int, gallery: String) throws -> IndexSettings? {
        guard let json else { return nil }
        let settings: IndexSettings
        do { settings = try JSONDecoder().decode(IndexSettings.self, from: Data(json.utf8)) } catch {
            throw GalleryStoreError.notAGallery(path: gallery, reason: "its index settings (\(json)) do not decode: \(error); rebuild the index with `akin index build`")
        }
        if let problem = settings.problem(dimension: dimension) {
            throw GalleryStoreError.notAGallery(path: gallery, reason: "its index settings (\(json)) are unusable: \(problem); rebuild the index with `akin index build`")
        }
        return settings
    }
}
