import ArgumentParser
import Foundation
import Images
import Search
import Similarity
import Tensors

struct Search: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find the gallery items most similar to each query: images (with --model) or vectors (--vectors).",
        discussion: "Uses the index `akin index build` made (checked against the gallery, caught up or rebuilt when it is stale or damaged), or exact search with --exact or when there is none.")

    @Option(help: "Model file from `akin train` (for image queries).") var model: String?
    @Option(help: "Gallery file.") var gallery: String
    @Option(help: "Query vectors instead of images: float32 .npy of shape [Q, D].") var vectors: String?
    @Option(name: .short, help: "Results per query.") var k = 10
    @Option(help: "A query whose best similarity is below this is reported as no match (default: the gallery's stored threshold).") var threshold: Float?
    @Flag(help: "Exact search, ignoring the gallery's index.") var exact = false
    @Flag(help: "Print a JSON array: one {query, match, results: [{id, path, label, similarity}]} per query.") var json = false
    @Flag(help: "Report index load/build time, search time and queries/s on standard error.") var stats = false
    @Flag(help: "Search the queries one at a time, as a server answering single requests would (for --stats), instead of as one batch.") var oneByOne = false
    @Option(help: "Compute threads (default: all cores).") var threads: Int?
    @Argument(help: "Query images (folders are walked); with --model.") var images: [String] = []

    func validate() throws {
        guard k > 0 else { throw ValidationError("-k must be positive") }
        guard (vectors == nil) != images.isEmpty else { throw ValidationError("give query images (with --model) or --vectors FILE.npy, not both") }
        guard vectors != nil || model != nil else { throw ValidationError("image queries need --model") }
    }

    func run() throws {
        Akin.configureThreads(threads)
        let store = try GalleryStore.open(gallery)
        let (names, queries) = try vectors != nil ? vectorQueries(store) : imageQueries(store)

        let opened = Date()
        let index: any VectorIndex
        var how = "exact"
        if !exact, let settings = try store.indexSettings {
            let bar = ProgressBar("rebuilding index", total: max(try store.count, 1), unit: "items", plainInterval: 5)
            let result = try GalleryIndex.open(store, settings: settings, path: GalleryIndex.defaultPath(for: gallery),
                                               progress: { done, total in bar.update(min(done, max(total, 1))) }, note: Console.note)
            index = result.index
            switch result.outcome {
            case .loaded: how = settings.kind.rawValue
            case let .caughtUp(added, removed): how = "\(settings.kind), caught up with \(added) added and \(removed) removed items"
            case let .rebuilt(reason):
                how = "\(settings.kind), rebuilt"
                Console.note("rebuilt the index: \(reason)")
            }
        } else {
            index = try FlatIndex(exactOf: store)
        }
        guard index.count > 0 else { throw GalleryStoreError.empty(gallery) }
        let searching = Date(), searchingCPU = Self.processCPUSeconds()
        let results: [[SearchHit]]
        if oneByOne {
            let d = queries.shape[1], single = Tensors.Tensor(shape: [1, d])
            results = (0..<queries.shape[0]).map { q in
                single.pointer.update(from: queries.pointer + q * d, count: d)
                return index.search(single, k: k)[0]
            }
        } else {
            results = index.search(queries, k: k)
        }
        let finished = Date(), cpuSeconds = Self.processCPUSeconds() - searchingCPU
        if stats {
            let searchSeconds = finished.timeIntervalSince(searching)
            // CPU time beside wall time: on a shared machine it is the steadier measure of the work.
            Console.note(String(format: "index (%@) ready in %.3f s; %d queries searched %@ in %.3f s: %.0f queries/s (CPU %.3f s: %.0f queries per CPU second)",
                                how, searching.timeIntervalSince(opened), names.count, oneByOne ? "one at a time" : "as a batch",
                                searchSeconds, Double(names.count) / max(searchSeconds, 1e-9), cpuSeconds, Double(names.count) / max(cpuSeconds, 1e-9)))
        }

        let items = try store.items(ids: results.flatMap { $0.map(\.index) })
        let cut = try threshold ?? store.threshold
        var answers: [QueryAnswer] = []
        for (q, hits) in results.enumerated() {
            let match = cut.map { (hits.first?.similarity ?? -.infinity) >= $0 } ?? true
            answers.append(QueryAnswer(query: names[q], match: match, results: hits.compactMap { hit in
                items[hit.index].map { QueryAnswer.Result(id: hit.index, path: $0.path, label: $0.label, similarity: hit.similarity) }
            }))
        }
        if json {
            print(try JSONOutput.encode(answers))
        } else {
            for answer in answers {
                print("\(answer.query)\(answer.match ? "" : "  — no match (best similarity below \(cut!))")")
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

    private func vectorQueries(_ store: GalleryStore) throws -> ([String], Tensors.Tensor) {
        let file = vectors!
        let matrix = try readMatrix(file, rows: "Q", matching: store, gallery: gallery)
        let d = matrix.shape[1]
        if store.info.distance == .cosine {
            for row in 0..<matrix.shape[0] {
                let v = matrix.pointer + row * d
                let norm = Elementwise.dot(v, v, count: d).squareRoot()
                if norm > 0 { for j in 0..<d { v[j] /= norm } }
            }
        }
        return ((0..<matrix.shape[0]).map { "\(file)#\($0)" }, matrix)
    }

    private func imageQueries(_ store: GalleryStore) throws -> ([String], Tensors.Tensor) {
        let embedding = try EmbeddingModel.load(from: model!)
        try store.requireModel(embedding.fingerprint)
        let queries = try ImageLoading.load(images, for: embedding)
        return (queries.paths, try embedding.embed(queries))
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
