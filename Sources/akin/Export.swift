import ArgumentParser
import Foundation
import Images
import Reports
import Similarity

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export embeddings for other tools.",
        subcommands: [ExportProjector.self])
}

struct ExportProjector: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projector",
        abstract: "Write TensorBoard Embedding Projector files: tensors.tsv, metadata.tsv, sprite.png, projector_config.pbtxt.",
        discussion: """
            Open them in TensorBoard (copy OUT into a --logdir: its projector tab reads projector_config.pbtxt) or load \
            tensors.tsv and metadata.tsv at projector.tensorflow.org.
            """)

    @Option(help: "Model file from `akin train`.") var model: String
    @Option(help: "Folder of <class>/<image> to embed.") var data: String
    @Option(help: "Folder to write the files into (created if needed).") var out: String
    @Option(help: "Thumbnail size in the sprite (default: the model's image size; lowered so the sprite stays within 8192 pixels a side).") var spriteSize: Int?
    @Option(help: "Compute threads (default: all cores).") var threads: Int?

    func validate() throws {
        guard (spriteSize ?? 1) >= 1 else { throw ValidationError("--sprite-size must be positive") }
    }

    func run() throws {
        Akin.configureThreads(threads)
        let embedding = try EmbeddingModel.load(from: model)
        let folders = try ClassFolders.scan(data, requireTrainable: false)
        let p = embedding.preprocessing
        let images = ImageLoading.load(folders.files, classNames: folders.classNames, imageSize: p.imageSize, channels: p.channels)
        guard images.count > 0 else { throw DatasetError.nothingUsable(data) }
        let vectors = try Embedding.run(embedding, images, batchSize: 256)
        // The sprite shows the images as the model saw them: decoded and resized, before normalisation.
        let plane = images.imageSize * images.imageSize, c = images.channels
        let thumbnails = (0..<images.count).map { i -> Image in
            let planar = images.pixels[(i * plane * c)..<((i + 1) * plane * c)]
            var pixels = [UInt8](repeating: 0, count: plane * c)
            for q in 0..<plane { for ch in 0..<c { pixels[q * c + ch] = planar[planar.startIndex + ch * plane + q] } }
            return Image(width: images.imageSize, height: images.imageSize, channels: c, pixels: pixels)
        }
        try ProjectorExport.write(vectors: vectors, paths: images.paths, classes: images.labels.map { images.classNames[Int($0)] },
                                  thumbnails: thumbnails, cell: spriteSize ?? p.imageSize, to: out)
        Console.note("projector files for \(images.count) images written to \(out) (tensors.tsv, metadata.tsv, sprite.png, projector_config.pbtxt)")
    }
}
