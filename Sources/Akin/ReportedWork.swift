import Foundation

/// Decoding and embedding with their progress and skipped files told to a ``WorkReporter``: the
/// steps every workflow (embed, search, add, evaluate, train, report) shares.
extension ImageSet {
    /// Decodes `files` on all cores; files that fail are noted and left out, files past Pillow's
    /// warning size noted.
    public static func load(_ files: [(path: String, label: Int)], classNames: [String], imageSize: Int, channels: Int,
                            centerCrop: Float? = nil, reporter: any WorkReporter) -> ImageSet {
        let progress = reporter.begin("decoding", total: files.count, unit: "images")
        let (images, skipped) = load(files, classNames: classNames, imageSize: imageSize, channels: channels,
                                     centerCrop: centerCrop, warning: { reporter.note("large image \($0): \($1)") }) { done, _ in progress(done) }
        reporter.noteSkipped(skipped, of: files.count)
        return images
    }
}

extension EmbeddingModel {
    /// `files` decoded as this model takes them; bad files noted and left out.
    public func loadImages(_ files: [(path: String, label: Int)], classNames: [String], reporter: any WorkReporter) -> ImageSet {
        let p = preprocessing
        return ImageSet.load(files, classNames: classNames, imageSize: p.imageSize, channels: p.channels, centerCrop: p.centerCrop, reporter: reporter)
    }

    /// The image files named in `paths` (folders walked, labels from folder names: `ImageFiles`),
    /// decoded as this model takes them. Throws when there is no image file, or none decodes.
    public func loadImages(paths: [String], reporter: any WorkReporter) throws -> ImageSet {
        let found = try ImageFiles.collect(paths)
        let images = loadImages(found.files, classNames: found.classNames, reporter: reporter)
        guard images.count > 0 else { throw EmbeddingError.noneDecoded(files: found.files.count, paths: paths) }
        return images
    }

    /// Unit-length embeddings of `images`, [count, D], with progress and the rate noted.
    public func embed(_ images: ImageSet, batchSize: Int = 256, reporter: any WorkReporter) throws -> Tensor {
        let progress = reporter.begin("embedding", total: images.count, unit: "images")
        let started = Date()
        let vectors = try embed(images, batchSize: batchSize) { done, _ in progress(done) }
        let seconds = Date().timeIntervalSince(started)
        reporter.note(String(format: "embedded %d images at %.0f images/s", images.count, Double(images.count) / max(seconds, 1e-9)))
        return vectors
    }

    /// Each image's vector with its path and label (its folder's name).
    public func embedded(_ images: ImageSet, batchSize: Int = 256, reporter: any WorkReporter) throws -> EmbeddedImages {
        EmbeddedImages(vectors: try embed(images, batchSize: batchSize, reporter: reporter), paths: images.paths,
                       labels: images.labels.map { images.classNames[Int($0)] }, skipped: [])
    }
}
