import Akin
import ArgumentParser
import Foundation

struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Embed images into a new gallery (an SQLite file or a PostgreSQL collection): each item's path, label (its folder's name) and unit-length vector.")

    @Option(help: "Model file from `akin train`.") var model: String
    @Option(help: "Gallery to write: a file (e.g. gallery.akin) or postgres://USER@HOST:PORT/DATABASE?collection=NAME. Add to an existing one with `akin gallery add`.") var out: String
    @Flag(help: "Replace an existing gallery at --out.") var overwrite = false
    @Option(help: "Images per batch.") var batchSize = 256
    @Option(help: "Compute threads (default: all cores).") var threads: Int?
    @OptionGroup var decoding: DecodingOptions
    @Argument(help: "Folders (walked recursively) and image files.") var inputs: [String]

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
    }

    func run() throws {
        try AkinCommand.configureThreads(threads)
        decoding.apply()
        let address = try GalleryAddress(out)
        guard try overwrite || !address.exists() else { throw GalleryStoreError.exists(address.description) }
        let embedding = try EmbeddingModel.load(from: model)
        let images = try embedding.loadImages(paths: inputs, reporter: ConsoleReporter())
        let embedded = try embedding.embedded(images, batchSize: batchSize, reporter: ConsoleReporter())
        try Akin.Gallery.create(at: out, holding: embedded, by: embedding, overwrite: overwrite)
        Console.note("gallery of \(embedded.count) vectors (\(embedded.vectors.shape[1])-d) written to \(address)")
    }
}
