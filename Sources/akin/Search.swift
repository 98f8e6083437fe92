import ArgumentParser
import Foundation
import Images
import Search
import Similarity

struct Search: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find the gallery images most similar to each query image (exact cosine top-k).")

    @Option(help: "Model file from `akin train`.") var model: String
    @Option(help: "Gallery file from `akin embed`, made with the same model.") var gallery: String
    @Option(name: .short, help: "Results per query.") var k = 10
    @Option(help: "A query whose best similarity is below this is reported as no match.") var threshold: Float?
    @Flag(help: "Print a JSON array: one {query, match, results: [{path, label, similarity}]} per query.") var json = false
    @Option(help: "Compute threads (default: all cores).") var threads: Int?
    @Argument(help: "Query images (folders are walked).") var images: [String]

    func validate() throws {
        guard k > 0 else { throw ValidationError("-k must be positive") }
    }

    func run() throws {
        Akin.configureThreads(threads)
        let embedding = try EmbeddingModel.load(from: model)
        let stored = try Gallery.load(from: gallery)
        try stored.requireModel(embedding.fingerprint, path: gallery)
        guard stored.count > 0 else { throw GalleryError.empty(gallery) }
        let (files, classNames) = try ImageLoading.collect(images)
        let p = embedding.preprocessing
        let queries = ImageLoading.load(files, classNames: classNames, imageSize: p.imageSize, channels: p.channels)
        guard queries.count > 0 else { throw ValidationError("none of the query images could be decoded") }
        let vectors = embedding.embed(queries)
        let results = ExactIndex(vectors: stored.vectors).search(vectors, k: k)

        var answers: [QueryAnswer] = []
        for (q, hits) in results.enumerated() {
            let match = threshold.map { (hits.first?.similarity ?? -.infinity) >= $0 } ?? true
            answers.append(QueryAnswer(query: queries.paths[q], match: match, results: hits.map {
                QueryAnswer.Result(path: stored.paths[$0.index], label: stored.labels[$0.index], similarity: $0.similarity)
            }))
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(answers), as: UTF8.self))
        } else {
            for answer in answers {
                print("\(answer.query)\(answer.match ? "" : "  — no match (best similarity below \(threshold!))")")
                for (rank, r) in answer.results.enumerated() {
                    print(String(format: "  %2d. %.4f  %@  %@", rank + 1, r.similarity, r.label, r.path))
                }
            }
        }
    }
}

struct QueryAnswer: Codable {
    struct Result: Codable {
        var path: String
        var label: String
        var similarity: Float
    }
    var query: String
    var match: Bool
    var results: [Result]
}
