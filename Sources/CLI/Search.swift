import Akin
import ArgumentParser
import Foundation

struct Search: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find the gallery items most similar to each query: images (with --model) or vectors (--vectors).",
        discussion: "Uses the index `akin index build` made (checked against the gallery, caught up or rebuilt when it is stale or damaged), or exact search with --exact or when there is none.")

    @Option(help: "Model file from `akin train` (for image queries).") var model: String?
    @Option(help: "Gallery: a file, or postgres://USER@HOST:PORT/DATABASE?collection=NAME.") var gallery: String
    @Option(help: "Query vectors instead of images: float32 .npy of shape [Q, D].") var vectors: String?
    @Option(name: .short, help: "Results per query.") var k = 10
    @Option(help: "A query whose best similarity is below this is reported as no match (default: the gallery's stored threshold).") var threshold: Float?
    @Flag(help: "Exact search, ignoring the gallery's index.") var exact = false
    @Flag(help: "Print a JSON array: one {query, match, results: [{id, path, label, similarity}]} per query.") var json = false
    @Flag(help: "Report index load/build time, search time and queries/s on standard error.") var stats = false
    @Flag(help: "Search the queries one at a time, as a server answering single requests would (for --stats), instead of as one batch.") var oneByOne = false
    @Option(help: "Compute threads (default: all cores).") var threads: Int?
    @OptionGroup var decoding: DecodingOptions
    @Argument(help: "Query images (folders are walked); with --model.") var images: [String] = []

    func validate() throws {
        guard k > 0 else { throw ValidationError("-k must be positive") }
        guard (vectors == nil) != images.isEmpty else { throw ValidationError("give query images (with --model) or --vectors FILE.npy, not both") }
        guard vectors != nil || model != nil else { throw ValidationError("image queries need --model") }
    }

    func run() throws {
        try AkinCommand.configureThreads(threads)
        decoding.apply()
        let gallery = try Akin.Gallery.open(self.gallery)
        let (names, queries) = try vectors != nil ? vectorQueries(gallery) : imageQueries(gallery)

        let opened = Date()
        let use = try gallery.loadIndex(exact: exact, reporter: ConsoleReporter())
        let searching = Date(), searchingCPU = Self.processCPUSeconds()
        let hits: [[SearchHit]]
        if oneByOne {
            let d = queries.shape[1], single = Tensors.Tensor(shape: [1, d])
            hits = try (0..<queries.shape[0]).map { q in
                single.pointer.update(from: queries.pointer + q * d, count: d)
                return try gallery.nearest(single, k: k, exact: exact)[0]
            }
        } else {
            hits = try gallery.nearest(queries, k: k, exact: exact)
        }
        let finished = Date(), cpuSeconds = Self.processCPUSeconds() - searchingCPU
        if stats {
            let searchSeconds = finished.timeIntervalSince(searching)
            // CPU time beside wall time: on a shared machine it is the steadier measure of the work.
            Console.note(String(format: "index (%@) ready in %.3f s; %d queries searched %@ in %.3f s: %.0f queries/s (CPU %.3f s: %.0f queries per CPU second)",
                                use.description, searching.timeIntervalSince(opened), names.count, oneByOne ? "one at a time" : "as a batch",
                                searchSeconds, Double(names.count) / max(searchSeconds, 1e-9), cpuSeconds, Double(names.count) / max(cpuSeconds, 1e-9)))
        }

        let results = try gallery.results(of: hits, threshold: threshold)
        let answers = zip(names, results).map { name, result in
            QueryAnswer(query: name, match: result.match, results: result.hits.map {
                QueryAnswer.Result(id: $0.id, path: $0.path, label: $0.label, similarity: $0.similarity)
            })
        }
        if json {
            print(try JSONOutput.encode(answers))
        } else {
            for (answer, result) in zip(answers, results) {
                print("\(answer.query)\(answer.match ? "" : "  — no match (best similarity below \(result.threshold!))")")
                for (rank, r) in answer.results.enumerated() {
                    print(String(format: "  %2d. %.4f  #%d  %@  %@", rank + 1, r.similarity, r.id, r.label, r.path))
                }
            }
        }
    }

    /// User and system CPU time of the whole process so far.
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    private func vectorQueries(_ gallery: Akin.Gallery) throws -> ([String], Tensors.Tensor) {
        let file = vectors!
        let matrix = try gallery.queries(try gallery.vectors(fromNpy: file), from: file)
        return ((0..<matrix.shape[0]).map { "\(file)#\($0)" }, matrix)
    }

    private func imageQueries(_ gallery: Akin.Gallery) throws -> ([String], Tensors.Tensor) {
        let embedding = try EmbeddingModel.load(from: model!)
        try gallery.requireModel(embedding)
        let queries = try embedding.loadImages(paths: images, reporter: ConsoleReporter())
        return (queries.paths, try gallery.queries(try embedding.embed(queries, reporter: ConsoleReporter())))
    }
}

struct QueryAnswer: Codable {
    struct Result: Codable {
        var id: Int
        var path: String
        var label: String
        var similarity: Float
    }
    var query: String
    var match: Bool
    var results: [Result]
}
