import Foundation
import Tensors

/// The gallery format `akin embed` wrote before the SQLite store: safetensors with tensor
/// "vectors" [N, D] and paths, labels and the model fingerprint in the metadata. Kept so such
/// files can be converted (`akin gallery convert`).
public struct SafeTensorsGallery {
    public var modelFingerprint: String
    public var paths: [String]
    public var labels: [String]
    public var vectors: Tensor

    public init(modelFingerprint: String, paths: [String], labels: [String], vectors: Tensor) {
        precondition(paths.count == labels.count && vectors.shape.count == 2 && vectors.shape[0] == paths.count)
        self.modelFingerprint = modelFingerprint
        self.paths = paths
        self.labels = labels
        self.vectors = vectors
    }

    public var count: Int { paths.count }
    public var dimension: Int { vectors.shape[1] }

    /// A safetensors file starts with its header's length (8 bytes) and then the JSON header.
    static func looksLike(_ head: Data) -> Bool {
        head.count > 8 && head[head.startIndex + 8] == UInt8(ascii: "{")
    }

    public func save(to path: String) throws {
        let metadata = [
            "akin.format": "akin-gallery-1",
            "akin.model": modelFingerprint,
            "akin.paths": String(decoding: try JSONEncoder().encode(paths), as: UTF8.self),
            "akin.labels": String(decoding: try JSONEncoder().encode(labels), as: UTF8.self),
        ]
        try SafeTensorsFile(tensors: ["vectors": vectors], metadata: metadata).write(to: path)
    }

    public static func load(from path: String) throws -> SafeTensorsGallery {
        let file = try SafeTensorsFile.read(from: path)
        guard file.metadata["akin.format"] == "akin-gallery-1", let model = file.metadata["akin.model"] else {
            throw GalleryStoreError.notAGallery(path: path, reason: "its metadata does not name the akin-gallery-1 format")
        }
        guard let paths = file.metadata["akin.paths"].flatMap({ try? JSONDecoder().decode([String].self, from: Data($0.utf8)) }),
              let labels = file.metadata["akin.labels"].flatMap({ try? JSONDecoder().decode([String].self, from: Data($0.utf8)) }),
              let vectors = file.tensors["vectors"], vectors.shape.count == 2,
              vectors.shape[0] == paths.count, labels.count == paths.count
        else { throw GalleryStoreError.notAGallery(path: path, reason: "paths, labels and vectors do not match up") }
        return SafeTensorsGallery(modelFingerprint: model, paths: paths, labels: labels, vectors: vectors)
    }

    /// Writes this gallery's items, in order, into a new SQLite gallery at `path`.
    public func convert(to path: String, overwrite: Bool = false) throws {
        try SQLiteGalleryStore.createWhole(at: path, overwrite: overwrite, dimension: dimension, modelFingerprint: modelFingerprint) { store in
            try store.add(zip(paths, labels).map { NewItem(path: $0, label: $1) }, vectors: vectors.pointer)
        }
    }
}
