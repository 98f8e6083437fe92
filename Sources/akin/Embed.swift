import ArgumentParser
import Foundation
import Images
import Search
import Similarity

struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Embed images into a new gallery (SQLite): each item's path, label (its folder's name) and unit-length vector.")

    @Option(help: "Model file from `akin train`.") var model: String
    @Option(help: "Gallery file to write (e.g. gallery.akin). Add to an existing one with `akin gallery add`.") var out: String
    @Flag(help: "Replace an existing gallery at --out.") var overwrite = false
    @Option(help: "Images per batch.") var batchSize = 256
    @Option(help: "Compute threads (default: all cores).") var threads: Int?
    @Argument(help: "Folders (walked recursively) and image files.") var inputs: [String]

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
    }

    func run() throws {
        Akin.configureThreads(threads)
        guard overwrite || !FileManager.default.fileExists(atPath: out) else { throw GalleryStoreError.exists(out) }
        let embedding = try EmbeddingModel.load(from: model)
        let images = try ImageLoading.load(inputs, for: embedding)
        let vectors = try Embedding.run(embedding, images, batchSize: batchSize)
        let items = (0..<images.count).map { NewItem(path: images.paths[$0], label: images.classNames[Int(images.labels[$0])]) }
        try GalleryStore.createWhole(at: out, overwrite: overwrite, dimension: vectors.shape[1], modelFingerprint: embedding.fingerprint) {
            try $0.add(items, vectors: vectors.pointer)
        }
        Console.note("gallery of \(items.count) vectors (\(vectors.shape[1])-d) written to \(out)")
    }
}

enum Embedding {
    /// Embeds with a progress bar and reports images/s.
    static func run(_ model: EmbeddingModel, _ images: ImageSet, batchSize: Int) throws -> Tensors.Tensor {
        let bar = ProgressBar("embedding", total: images.count, unit: "images", plainInterval: 5)
        let started = Date()
        let vectors = try model.embed(images, batchSize: batchSize) { done, _ in bar.update(done) }
        let seconds = Date().timeIntervalSince(started)
        Console.note(String(format: "embedded %d images at %.0f images/s", images.count, Double(images.count) / max(seconds, 1e-9)))
        return vectors
    }
}

import Tensors
