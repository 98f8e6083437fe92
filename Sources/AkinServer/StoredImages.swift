import Akin
import Foundation

/// The images added through the API, kept in the collection's `NAME.images` folder under names
/// the server makes (a UUID and the format's extension): no name from a request reaches the disk.
enum StoredImages {
    /// Writes `data` (JPEG or PNG, checked by its first bytes) under a new name, flushed to disk,
    /// and returns its path.
    static func save(_ data: Data, in collection: ServedCollection) throws -> String {
        let ext: String
        if data.starts(with: [0xFF, 0xD8]) { ext = "jpg" }
        else if data.starts(with: [0x89, 0x50, 0x4E, 0x47]) { ext = "png" }
        else { throw APIError.invalid("the image is neither JPEG nor PNG") }
        try FileManager.default.createDirectory(atPath: collection.imagesFolder, withIntermediateDirectories: true)
        let file = (collection.imagesFolder as NSString).appendingPathComponent("\(UUID().uuidString.lowercased()).\(ext)")
        let temporary = file + ".partial"
        guard FileManager.default.createFile(atPath: temporary, contents: nil),
              let handle = FileHandle(forWritingAtPath: temporary) else {
            throw APIError(.internalServerError, "storage", "cannot write the image into \(collection.imagesFolder)")
        }
        do {
            try handle.write(contentsOf: data)
            try handle.synchronize()
            try handle.close()
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw APIError(.internalServerError, "storage", "cannot write the image: \(error)")
        }
        guard rename(temporary, file) == 0 else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw APIError(.internalServerError, "storage", "cannot move the image into place")
        }
        return file
    }

    /// The path an item records for a stored image: relative to the server's folder.
    static func itemPath(of file: String, in collection: ServedCollection) -> String {
        collection.name.imagesFolder + "/" + (file as NSString).lastPathComponent
    }

    /// The stored image of an item, when its path is one the server made for this collection.
    static func file(of item: StoredItem, in collection: ServedCollection) -> String? {
        let prefix = collection.name.imagesFolder + "/"
        guard item.path.hasPrefix(prefix) else { return nil }
        let name = item.path.dropFirst(prefix.count)
        guard name.count == 40, name.hasSuffix(".jpg") || name.hasSuffix(".png"),
              name.dropLast(4).allSatisfy({ $0.isHexDigit || $0 == "-" }) else { return nil }
        return (collection.imagesFolder as NSString).appendingPathComponent(String(name))
    }

    static func mediaType(of file: String) -> String { file.hasSuffix(".png") ? "image/png" : "image/jpeg" }
}
