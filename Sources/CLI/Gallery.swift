import Akin
import ArgumentParser
import Foundation

struct GalleryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gallery",
        abstract: "Make, change and inspect a gallery of items (id, path, label, vector, time added, metadata): an SQLite file, or a collection in PostgreSQL with pgvector.",
        subcommands: [Create.self, Add.self, Remove.self, List.self, Stats.self, Convert.self, Copy.self, Drop.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make an empty gallery, for a model's vectors or for D-dimensional vectors from elsewhere.")
        @Option(help: "Gallery to make: a file, or postgres://USER@HOST:PORT/DATABASE?collection=NAME.") var out: String
        @Option(help: "Size of the vectors it will hold (for vectors brought from elsewhere).") var dim: Int?
        @Option(help: "Model file from `akin train`: the gallery takes its embedding size and accepts only its vectors.") var model: String?
        @Option(help: "cosine (vectors stored at unit length) or inner-product (stored as given).") var distance = "cosine"
        @Option(help: "PostgreSQL servers to shard the gallery over, comma-separated postgres://USER@HOST:PORT/DATABASE (--out is then the coordinator).") var shards: String?

        func validate() throws {
            guard (dim == nil) != (model == nil) else { throw ValidationError("give exactly one of --dim and --model") }
            if let dim, dim <= 0 { throw ValidationError("--dim must be positive") }
            guard GallerySimilarity(rawValue: distance) != nil else {
                throw ValidationError("--distance must be one of \(GallerySimilarity.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }

        func run() throws {
            let similarity = GallerySimilarity(rawValue: distance)!
            let shards = shards.map { $0.split(separator: ",").map(String.init) } ?? []
            let gallery = try model.map { try Akin.Gallery.create(at: out, for: EmbeddingModel.load(from: $0), similarity: similarity, shards: shards) }
                ?? Akin.Gallery.create(at: out, dimension: dim!, similarity: similarity, shards: shards)
            try gallery.close()
            Console.note("empty \(gallery.info.dimension)-d \(distance) gallery made at \(gallery.path)")
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add vectors from a .npy file, or images embedded by the gallery's model, in one transaction.")
        @Option(help: "Gallery: a file, or postgres://USER@HOST:PORT/DATABASE?collection=NAME.") var gallery: String
        @Option(help: "float32 .npy of shape [N, D]: one vector a row.") var vectors: String?
        @Option(help: "Text file with one label a line, a line per row of --vectors.") var labels: String?
        @Option(help: "Text file with one path or URI a line, a line per row of --vectors.") var paths: String?
        @Option(help: "Model file that made the gallery, to add images.") var model: String?
        @Option(help: "Images per batch (with --model; default 256).") var batchSize: Int?
        @Flag(help: "With --vectors, into a gallery made for a model: these vectors come from that model (they are refused otherwise).") var anyVectors = false
        @Flag(help: "Leave out items whose path the gallery already holds (to finish an add that was interrupted).") var skipExisting = false
        @Option(help: "Items per transaction, each acknowledged on standard output once it is on disk (default: all in one).") var transaction: Int?
        @Option(help: "Compute threads (default: all cores).") var threads: Int?
        @OptionGroup var decoding: DecodingOptions
        @Argument(help: "Images or folders to embed and add (with --model).") var images: [String] = []

        func validate() throws {
            guard (vectors == nil) != (model == nil) else { throw ValidationError("give either --vectors FILE.npy, or --model MODEL and images") }
            guard vectors == nil || images.isEmpty else { throw ValidationError("images are added with --model, not beside --vectors") }
            guard model == nil || !images.isEmpty else { throw ValidationError("name the images or folders to add") }
            guard model == nil || (labels == nil && paths == nil) else { throw ValidationError("--labels and --paths go with --vectors; images take theirs from their folders") }
            if let transaction, transaction <= 0 { throw ValidationError("--transaction must be positive") }
            if let batchSize, batchSize <= 0 { throw ValidationError("--batch-size must be positive, not \(batchSize)") }
            if vectors != nil && (batchSize != nil || decoding.maxPixels != nil) {
                throw ValidationError("--batch-size and --max-pixels are for images embedded with --model, not --vectors")
            }
            if model != nil && anyVectors { throw ValidationError("--any-vectors goes with --vectors; images embedded with --model are the gallery's own") }
        }

        func run() throws {
            try AkinCommand.configureThreads(threads)
            decoding.apply()
            let gallery = try Akin.Gallery.open(self.gallery)
            let acknowledge = { (added: [Int]) in
                // Printed only after the commit returned: a line here is a promise the items survive a crash.
                if transaction != nil, let first = added.first, let last = added.last {
                    FileHandle.standardOutput.write(Data("added \(first)…\(last)\n".utf8))
                }
            }
            let ids: [Int]
            if vectors != nil {
                let (items, matrix) = try fromVectors(gallery)
                ids = try gallery.add(items, vectors: matrix, transactionSize: transaction, allowingVectorsFromElsewhere: anyVectors,
                                      skippingExistingPaths: skipExisting, committed: acknowledge)
                if skipExisting && ids.count < items.count { Console.note("skipped \(items.count - ids.count) items whose path the gallery already holds") }
            } else {
                let embedding = try EmbeddingModel.load(from: model!)
                try gallery.requireModel(embedding)
                let images = try embedding.loadImages(paths: self.images, reporter: ConsoleReporter())
                let embedded = try embedding.embedded(images, batchSize: batchSize ?? 256, reporter: ConsoleReporter())
                ids = try gallery.add(embedded, by: embedding, transactionSize: transaction, skippingExistingPaths: skipExisting,
                                      committed: acknowledge)
                if skipExisting && ids.count < embedded.count { Console.note("skipped \(embedded.count - ids.count) images whose path the gallery already holds") }
            }
            Console.note("added \(ids.count) items (ids \(ids.first.map(String.init) ?? "-")…\(ids.last.map(String.init) ?? "-")); the gallery holds \(try gallery.count)")
        }

        private func fromVectors(_ gallery: Akin.Gallery) throws -> ([NewItem], Tensors.Tensor) {
            let file = vectors!
            let matrix = try gallery.vectors(fromNpy: file)
            let n = matrix.shape[0]
            let labelLines = try labels.map { try Lines.read($0, expected: n, what: "labels") } ?? Array(repeating: "", count: n)
            let pathLines = try paths.map { try Lines.read($0, expected: n, what: "paths") } ?? (0..<n).map { "\(file)#\($0)" }
            return (zip(pathLines, labelLines).map { NewItem(path: $0, label: $1) }, matrix)
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove items by id, in one transaction.")
        @Option(help: "Gallery: a file, or postgres://USER@HOST:PORT/DATABASE?collection=NAME.") var gallery: String
        @Argument(help: "Item ids (as `akin gallery list` shows them).") var ids: [Int]

        func run() throws {
            let gallery = try Akin.Gallery.open(self.gallery)
            let removed = try gallery.remove(ids: ids)
            Console.note("removed \(removed) of \(ids.count) ids; the gallery holds \(try gallery.count)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List items: id, label, path, time added.")
        @Option(help: "Gallery: a file, or postgres://USER@HOST:PORT/DATABASE?collection=NAME.") var gallery: String
        @Option(help: "Items at most.") var limit: Int?
        @Flag(help: "A JSON array of {id, label, path, added, metadata}.") var json = false

        func run() throws {
            let store = try GalleryAddress(gallery).open(readOnly: true)
            let items = try store.items(limit: limit ?? .max)
            if json {
                let rows = items.map { ListedItem(id: $0.id, label: $0.label, path: $0.path, added: ISO8601DateFormatter().string(from: $0.added), metadata: $0.metadata) }
                print(try JSONOutput.encode(rows))
            } else {
                for item in items { print("\(item.id)\t\(item.label)\t\(item.path)") }
            }
        }
    }

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "What a gallery holds: size, model, distance, threshold, index, labels.")
        @Option(help: "Gallery: a file, or postgres://USER@HOST:PORT/DATABASE?collection=NAME.") var gallery: String

        func run() throws {
            let address = try GalleryAddress(gallery)
            let store = try address.open(readOnly: true)
            let info = store.info
            print("items: \(try store.count)")
            print("dimension: \(info.dimension)")
            print("distance: \(info.similarity.rawValue)")
            print("model: \(info.modelFingerprint ?? "none (vectors brought from elsewhere)")")
            print("threshold: \(try store.threshold.map { String($0) } ?? "none")")
            print("generation: \(try store.state.generation)")
            // A PostgreSQL gallery's index is pgvector's, in the database: no file to name.
            let location = address.indexFilePath.map { ", \($0)" } ?? ", pgvector's, in the database"
            if case let .file(path) = address {
                print("file bytes: \((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)")
            }
            switch try Akin.Gallery(store: store).indexFreshness() {
            case .none: print("index: none (exact search); build one with `akin index build`")
            case let .upToDate(kind): print("index: \(kind)\(location): up to date")
            case let .stale(kind): print("index: \(kind)\(location): stale (search catches it up or rebuilds it)")
            case let .unusable(kind, reason): print("index: \(kind)\(location): \(reason) (search rebuilds it)")
            }
            let counts = try store.labelCounts()
            print("labels: \(counts.count)")
            for (label, count) in counts.prefix(20) { print("  \(label.isEmpty ? "(none)" : label): \(count)") }
            if counts.count > 20 { print("  … \(counts.count - 20) more") }
        }
    }

    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Convert an older safetensors gallery from `akin embed` into an SQLite gallery.")
        @Argument(help: "The older gallery (.safetensors).") var input: String
        @Option(help: "Gallery file to write.") var out: String
        @Flag(help: "Replace an existing gallery at --out.") var overwrite = false

        func run() throws {
            let old = try SafeTensorsGallery.load(from: input)
            try old.convert(to: out, overwrite: overwrite)
            Console.note("converted \(old.count) items (\(old.dimension)-d) into \(out)")
        }
    }
}

extension GalleryCommand {
    struct Copy: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a gallery between stores (an SQLite file, a PostgreSQL collection): items, vectors, model and threshold; build the copy's index afterwards.")
        @Argument(help: "The gallery to copy: a file, or postgres://USER@HOST:PORT/DATABASE?collection=NAME.") var source: String
        @Argument(help: "Where to make the copy: a file, or postgres://USER@HOST:PORT/DATABASE?collection=NAME.") var destination: String
        @Flag(help: "Replace a gallery already at the destination.") var overwrite = false

        func run() throws {
            let copied = try Akin.Gallery.copy(from: source, to: destination, overwrite: overwrite, reporter: ConsoleReporter())
            Console.note("copied \(copied) items to \(try GalleryAddress(destination)); build its index with `akin index build` if it should have one")
        }
    }
}

extension GalleryCommand {
    struct Drop: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a whole gallery: the file with its index, or the PostgreSQL collection with its tables (a sharded one's on every shard).")
        @Option(help: "The gallery: a file, or postgres://USER@HOST:PORT/DATABASE?collection=NAME.") var gallery: String

        func run() throws {
            try Akin.Gallery.drop(at: gallery)
            Console.note("dropped \(try GalleryAddress(gallery))")
        }
    }
}

struct ListedItem: Codable {
    var id: Int
    var label: String
    var path: String
    var added: String
    var metadata: String?
}

/// Line-per-item text files (labels, paths).
enum Lines {
    static func read(_ path: String, expected: Int, what: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CommandFailure(description: "cannot read the \(what) file \(path)", status: ExitStatus.noInput)
        }
        var lines = String(decoding: data, as: UTF8.self).components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        lines = lines.map { $0.hasSuffix("\r") ? String($0.dropLast()) : $0 }
        guard lines.count == expected else {
            throw CommandFailure(description: "\(path) has \(lines.count) \(what), one a line, but there are \(expected) vectors; give one line per row",
                                 status: ExitStatus.dataError)
        }
        return lines
    }
}

enum JSONOutput {
    static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
