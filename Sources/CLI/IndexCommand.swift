import Akin
import ArgumentParser
import Foundation

extension IndexKind: ExpressibleByArgument {}

struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index", abstract: "Build the index a gallery is searched with.", subcommands: [Build.self])

    struct Build: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build an index of every item and save it beside the gallery (GALLERY.index); `akin search` then uses it.")
        @Option(help: "Gallery: a file, or postgres://USER@HOST:PORT/DATABASE?collection=NAME.") var gallery: String
        @Option(help: "flat (exact), hnsw (graph), sq8 (one byte a value) or ivfpq (a few bytes an item); the last two re-rank with the gallery's exact vectors.") var kind = IndexKind.hnsw
        @Option(help: "HNSW: links per node.") var m: Int?
        @Option(help: "HNSW: candidates kept while linking.") var efConstruction: Int?
        @Option(help: "HNSW: candidates kept while searching (raise it for recall, lower it for speed).") var efSearch: Int?
        @Option(help: "HNSW: seed of the layer draws; IVF-PQ: seed of k-means.") var seed: UInt64?
        @Option(help: "IVF-PQ: coarse cells (default 4√N).") var lists: Int?
        @Option(help: "IVF-PQ: bytes per code, a divisor of the dimension (default D/2, or the most that fit --memory).") var subquantizers: Int?
        @Option(help: "IVF-PQ: cells searched per query (default 32).") var probe: Int?
        @Option(help: "sq8 and IVF-PQ: candidates re-ranked with exact vectors per query (defaults 64 and 128).") var rerank: Int?
        @Option(help: "Resident memory the index may use, e.g. 512MB or 2GB: IVF-PQ picks its code size to fit, other kinds are checked.") var memory: String?
        @Option(help: "Compute threads (default: all cores).") var threads: Int?

        func validate() throws {
            if kind != .hnsw, m != nil || efConstruction != nil || efSearch != nil {
                throw ValidationError("--m, --ef-construction and --ef-search are for --kind hnsw")
            }
            if kind != .ivfpq, lists != nil || subquantizers != nil || probe != nil {
                throw ValidationError("--lists, --subquantizers and --probe are for --kind ivfpq")
            }
            if [.flat, .sq8].contains(kind), seed != nil { throw ValidationError("--seed is for --kind hnsw or ivfpq") }
            if rerank != nil, ![.sq8, .ivfpq].contains(kind) { throw ValidationError("--rerank is for --kind sq8 or ivfpq") }
            if let m, m < 2 { throw ValidationError("--m must be at least 2") }
            for (name, value) in [("--ef-construction", efConstruction), ("--ef-search", efSearch), ("--lists", lists),
                                  ("--subquantizers", subquantizers), ("--probe", probe), ("--rerank", rerank)] {
                if let value, value < 1 { throw ValidationError("\(name) must be positive") }
            }
            if let memory, MemoryBudget.parse(memory) == nil {
                throw ValidationError("--memory \(memory) is not a size; write it like 512MB, 2GB or a number of bytes")
            }
        }

        func run() throws {
            try AkinCommand.configureThreads(threads)
            let gallery = try Akin.Gallery.open(self.gallery)
            let settings = IndexSettings(kind: kind, m: m, efConstruction: efConstruction, efSearch: efSearch, seed: seed,
                                         lists: lists, subquantizers: subquantizers, probe: probe, rerank: rerank)
            let build = try gallery.buildIndex(settings, memoryBudget: memory.flatMap(MemoryBudget.parse), reporter: ConsoleReporter())
            if gallery.store is PostgresGalleryStore {
                Console.note(String(format: "%@ index of %d items built by pgvector in the database in %.2f s (%.0f items/s)",
                                    kind.rawValue, build.items, build.seconds, Double(build.items) / max(build.seconds, 1e-9)))
                return
            }
            Console.note(String(format: "%@ index of %d items built in %.2f s (%.0f items/s), %d bytes (%.1f per item) written to %@",
                                kind.rawValue, build.items, build.seconds, Double(build.items) / max(build.seconds, 1e-9), build.fileBytes,
                                Double(build.fileBytes) / Double(max(build.items, 1)), gallery.indexPath))
            if let resident = build.residentBytes {
                Console.note(String(format: "resident: %d bytes (%.1f per item); exact vectors stay in the gallery for re-ranking",
                                    resident, Double(resident) / Double(max(build.items, 1))))
            }
        }
    }
}
