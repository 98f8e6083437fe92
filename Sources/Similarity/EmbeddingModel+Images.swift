import Foundation
import Images
import Tensors

/// Why images could not be embedded.
public enum EmbeddingError: Error, CustomStringConvertible, Equatable {
    /// An ``ImageSet`` decoded at another size or channel count than the model takes.
    case imagesForAnotherModel(size: Int, channels: Int, needed: Int, neededChannels: Int)
    /// Image files were found but none of them decoded.
    case noneDecoded(files: Int, paths: [String])

    public var description: String {
        switch self {
        case let .imagesForAnotherModel(size, channels, needed, neededChannels):
            return "the images were loaded at \(size)×\(size) with \(channels) channel(s); the model takes \(needed)×\(needed) with \(neededChannels): load them with the model's preprocessing (EmbeddingModel.loadImages)"
        case let .noneDecoded(count, paths):
            return DatasetError.noneDecoded(files: count, in: paths).description
        }
    }
}

/// Images embedded from files: one unit-length row per image that decoded, with its path and label.
public struct EmbeddedImages {
    public init(vectors: Tensor, paths: [String], labels: [String], skipped: [SkippedFile] = []) {
        self.vectors = vectors
        self.paths = paths
        self.labels = labels
        self.skipped = skipped
    }

    /// [count, D], unit length.
    public var vectors: Tensor
    public var paths: [String]
    /// Each image's label: the name of the folder it sits in.
    public var labels: [String]
    /// The files that could not be decoded, and why.
    public var skipped: [SkippedFile]

    public var count: Int { paths.count }
}

extension EmbeddingModel {
    /// Decodes `files` as this model takes them (channels, center crop, size), on all cores.
    /// Files that fail are returned in `skipped`; `progress(done, total)` is called from worker threads.
    public func loadImages(_ files: [(path: String, label: Int)], classNames: [String],
                           progress: @Sendable (Int, Int) -> Void = { _, _ in }) -> (images: ImageSet, skipped: [SkippedFile]) {
        ImageSet.load(files, classNames: classNames, imageSize: preprocessing.imageSize, channels: preprocessing.channels,
                      centerCrop: preprocessing.centerCrop, progress: progress)
    }

    /// Decodes the image files named in `paths` (folders walked, each file labelled by its folder:
    /// ``ImageFiles``). Throws when there is no image file, or none decodes.
    public func loadImages(paths: [String], progress: @Sendable (Int, Int) -> Void = { _, _ in }) throws -> (images: ImageSet, skipped: [SkippedFile]) {
        let found = try ImageFiles.collect(paths)
        let loaded = loadImages(found.files, classNames: found.classNames, progress: progress)
        guard loaded.images.count > 0 else { throw EmbeddingError.noneDecoded(files: found.files.count, paths: paths) }
        return loaded
    }

    /// The unit-length embedding of one decoded image (it must have `preprocessing.channels`
    /// channels; any size: it is cropped and resized as the model was trained).
    public func embed(_ image: Image) throws -> [Float] {
        let vectors = try embed(try ImageSet(images: [image], preprocessing: preprocessing), batchSize: 1)
        return Array(vectors.buffer)
    }

    /// The unit-length embedding of an encoded JPEG or PNG.
    public func embed(imageData: Data) throws -> [Float] {
        try embed(try ImageDecoder.decode(imageData, channels: preprocessing.channels, minimumSide: preprocessing.decodedSide))
    }

    /// Decodes and embeds the image files named in `paths` (folders walked); bad files are
    /// skipped and returned. `progress(done, total)` counts images embedded.
    public func embed(files paths: [String], batchSize: Int = 256, progress: (Int, Int) -> Void = { _, _ in }) throws -> EmbeddedImages {
        let (images, skipped) = try loadImages(paths: paths)
        let vectors = try embed(images, batchSize: batchSize, progress: progress)
        return EmbeddedImages(vectors: vectors, paths: images.paths, labels: images.labels.map { images.classNames[Int($0)] }, skipped: skipped)
    }
}
