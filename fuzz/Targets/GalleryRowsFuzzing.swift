import Foundation
import GRDB
import Search
import Tensors

/// The gallery's stored values without SQLite around them: an `items` row, the `meta` table and the
/// stored index settings, made from fuzz bytes and read by `GalleryRecords`, as `SQLiteGalleryStore`
/// reads them. Settings that pass make an index, which is filled and searched. Thousands of times
/// faster than `gallery`, which edits and reopens a real file for each input.
enum GalleryRowsFuzzing {
    static func run(_ data: Data) {
        var reader = EditReader(data)
        // Six values for the row's columns, then text for the meta values, then the index settings.
        var values: [DatabaseValue] = []
        while values.count < 6, let edit = reader.next() { values.append(edit.value) }
        while values.count < 6 { values.append(.null) }
        let row = Row(Dictionary(uniqueKeysWithValues: zip(GalleryFuzzing.itemColumns, values).map { ($0, $1 as any DatabaseValueConvertible) }))
        if let item = try? GalleryRecords.item(row, gallery: "fuzz.akin") {
            fuzzCheck(row["id"] as Int64? == Int64(item.id), "id \(item.id) read from \(String(describing: row["id"] as DatabaseValue))")
        }
        if let blob = values[3].storage.value as? Data {
            _ = try? GalleryRecords.checkVector(blob, id: 0, dimension: 4, gallery: "fuzz.akin")
        }

        var meta: [String: String] = ["format": SQLiteGalleryStore.format, "dimension": "4", "distance": "cosine", "uuid": "u"]
        for key in GalleryFuzzing.metaKeys {
            guard let edit = reader.next() else { break }
            if case .null = edit.value.storage { meta[key] = nil } else { meta[key] = String(describing: edit.value.storage.value ?? "") }
        }
        if let info = try? GalleryRecords.info(meta: meta, gallery: "fuzz.akin") {
            fuzzCheck((1...GalleryInfo.maximumDimension).contains(info.dimension), "dimension \(info.dimension)")
        }

        let json = reader.remainingText
        guard let settings = try? GalleryRecords.indexSettings(json, dimension: 4, gallery: "fuzz.akin") else { return }
        guard let index = try? settings.makeIndex(dimension: 4) else { return }
        let vectors: [Float] = [1, 0, 0, 0, 0.6, 0.8, 0, 0, 0, 0, 1, 0, 0, 0, 0.6, 0.8, 0.5, 0.5, 0.5, 0.5]
        if let compressed = index as? SQ8Index { vectors.withUnsafeBufferPointer { compressed.train($0.baseAddress!, count: 5) } }
        if let compressed = index as? IVFPQIndex { vectors.withUnsafeBufferPointer { compressed.train($0.baseAddress!, count: 5) } }
        vectors.withUnsafeBufferPointer { index.add(ids: [0, 1, 2, 3, 4], vectors: $0.baseAddress!) }
        settings.prepare(index, source: nil)
        let hits = index.search(Tensor(shape: [1, 4], values: [1, 0.1, 0, 0]), k: 3)
        fuzzCheck(hits.count == 1 && hits[0].count <= 3, "\(hits.map(\.count)) hits for one query and k 3")
    }
}

extension EditReader {
    /// What is left of the input, as text.
    var remainingText: String? {
        position < bytes.count ? String(decoding: bytes[position...], as: UTF8.self) : nil
    }
}
