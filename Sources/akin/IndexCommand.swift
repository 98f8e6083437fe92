import ArgumentParser
import Foundation
import Search

struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index", abstract: "Build the index a gallery is searched with.", subcommands: [Build.self])

    struct Build: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build an index of every item and save it beside the gallery (GALLERY.index); `akin search` then uses it.")
        @Option(help: "Gallery file.") var gallery: String
        @Option(help: "flat (exact) or hnsw (graph).") var kind = "hnsw"
        @Option(help: "HNSW: links per node.") var m: Int?
        @Option(help: "HNSW: candidates kept while linking.") var efConstruction: Int?
        @Option(help: "HNSW: candidates kept while searching (raise it for recall, lower it for speed).") var efSearch: Int?
        @Option(help: "HNSW: seed of the layer draws.") var seed: UInt64?
        @Option(help: "Compute threads (default: all cores).") var threads: Int?

        func validate() throws {
            guard ["flat", "hnsw"].contains(kind) else { throw ValidationError("--kind must be flat or hnsw") }
            if kind == "flat", m != nil || efConstruction != nil || efSearch != nil || seed != nil {
                throw ValidationError("--m, --ef-construction, --ef-search and --seed are for --kind hnsw")
            }
            if let m, m < 2 { throw ValidationError("--m must be at least 2") }
            for (name, value) in [("--ef-construction", efConstruction), ("--ef-search", efSearch)] {
                if let value, value < 1 { throw ValidationError("\(name) must be positive") }
            }
        }

        func run() throws {
            Akin.configureThreads(threads)
            let store = try GalleryStore.open(gallery)
            let settings = IndexSettings(kind: kind, m: m, efConstruction: efConstruction, efSearch: efSearch, seed: seed)
            let total = try store.count
            let bar = ProgressBar("indexing", total: max(total, 1), unit: "items", plainInterval: 5)
            let started = Date()
            let (index, state) = try GalleryIndex.build(store, settings: settings) { done, _ in bar.update(min(done, max(total, 1))) }
            let seconds = Date().timeIntervalSince(started)
            let path = GalleryIndex.defaultPath(for: gallery)
            try IndexFile.save(index, state: state, to: path)
            try store.setIndexSettings(settings)
            let bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            Console.note(String(format: "%@ index of %d items built in %.2f s (%.0f items/s), %d bytes (%.1f per item) written to %@",
                                kind, index.count, seconds, Double(index.count) / max(seconds, 1e-9), bytes,
                                Double(bytes) / Double(max(index.count, 1)), path))
        }
    }
}
