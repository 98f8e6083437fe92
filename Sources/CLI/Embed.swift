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
    @Option(help: "Embed only share I of N (I/N, from 0; or mpi: the rank and size mpirun gives) of the images, sorted by path, and add them to the existing gallery at --out (make it first with `akin gallery create --model`); paths it holds are skipped, so a share can be run again.") var shard: String?
    @OptionGroup var decoding: DecodingOptions
    @Argument(help: "Folders (walked recursively) and image files.") var inputs: [String]

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
        if shard != nil && overwrite { throw ValidationError("--shard adds to an existing gallery; --overwrite does not apply") }
    }

    func run() throws {
        try AkinCommand.configureThreads(threads)
        decoding.apply()
        let address = try GalleryAddress(out)
        if let shard {
            let share = try WorkShare(parsing: shard)
            let gallery = try Akin.Gallery.open(out)
            let embedding = try EmbeddingModel.load(from: model)
            let (added, skipped) = try gallery.addShare(of: inputs, share: share, model: embedding, batchSize: batchSize, reporter: ConsoleReporter())
            for file in skipped { Console.note("skipped \(file.path): \(file.reason)") }
            Console.note("share \(share): added \(added) images to \(address); it holds \(try gallery.count)")
            return
        }
        guard try overwrite || !address.exists() else { throw GalleryStoreError.exists(address.description) }
        let embedding = try EmbeddingModel.load(from: model)
        let images = try embedding.loadImages(paths: inputs, reporter: ConsoleReporter())
        let embedded = try embedding.embedded(images, batchSize: batchSize, reporter: ConsoleReporter())
        try Akin.Gallery.create(at: out, holding: embedded, by: embedding, overwrite: overwrite)
        Console.note("gallery of \(embedded.count) vectors (\(embedded.vectors.shape[1])-d) written to \(address)")
    }
}
