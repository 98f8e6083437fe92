import Foundation
import Tensors

public enum GalleryError: Error, CustomStringConvertible {
    case notAGallery(path: String, reason: String)
    case wrongModel(path: String, galleryModel: String, model: String)
    case empty(String)

    public var description: String {
        switch self {
        case let .notAGallery(path, reason): return "\(path) is not an akin gallery: \(reason). Make one with `akin embed`."
        case let .wrongModel(path, gallery, model):
            return "\(path) was embedded with model \(gallery), not with this model (\(model)); vectors of different models cannot be compared. Re-embed the gallery with `akin embed --model …`, or search with the model that built it."
        case let .empty(path): return "\(path) holds no vectors"
        }
    }
}

/// Embedded images: each item's path, label (its folder name) and L2-normalised vector, and the
/// fingerprint of the model that made them. Stored as safetensors: tensor "vectors" [N, D],
/// paths and labels as JSON arrays in the metadata.
public struct Gallery {
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

    public func save(to path: String) throws {
        let metadata = [
            "akin.format": "akin-gallery-1",
            "akin.model": modelFingerprint,
            "akin.paths": String(decoding: try JSONEncoder().encode(paths), as: UTF8.self),
            "akin.labels": String(decoding: try JSONEncoder().encode(labels), as: UTF8.self),
        ]
        try SafeTensorsFile(tensors: ["vectors": vectors], metadata: metadata).write(to: path)
    }

    public static func load(from path: String) throws -> Gallery {
        let file = try SafeTensorsFile.read(from: path)
        guard file.metadata["akin.format"] == "akin-gallery-1", let model = file.metadata["akin.model"] else {
            throw GalleryError.notAGallery(path: path, reason: "its metadata does not name the akin-gallery-1 format")
        }
        guard let paths = file.metadata["akin.paths"].flatMap({ try? JSONDecoder().decode([String].self, from: Data($0.utf8)) }),
              let labels = file.metadata["akin.labels"].flatMap({ try? JSONDecoder().decode([String].self, from: Data($0.utf8)) }),
              let vectors = file.tensors["vectors"], vectors.shape.count == 2,
              vectors.shape[0] == paths.count, labels.count == paths.count
        else { throw GalleryError.notAGallery(path: path, reason: "paths, labels and vectors do not match up") }
        return Gallery(modelFingerprint: model, paths: paths, labels: labels, vectors: vectors)
    }

    /// Refuses a model other than the one that embedded this gallery.
    public func requireModel(_ fingerprint: String, path: String) throws {
        guard fingerprint == modelFingerprint else {
            throw GalleryError.wrongModel(path: path, galleryModel: modelFingerprint, model: fingerprint)
        }
    }
}
