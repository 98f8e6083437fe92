import Akin
import ArgumentParser
import Foundation

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write an HTML report of a model: training curves, retrieval metrics, PCA and t-SNE maps, a retrieval grid.",
        discussion: """
            OUT/index.html is self-contained (thumbnails inline, no network needed to view it); OUT/map-tsne.png, \
            OUT/map-pca.png and OUT/grid.png are the figures as images. The images come from --data (a folder of \
            <class>/<image>, embedded now) or --gallery (a file from `akin embed`, its images read again for thumbnails). \
            Without --queries, the metrics are leave-one-out over those images and the grid's queries are drawn from them \
            (each searching all the others); with --queries, that folder's images query them.
            """)

    @Option(help: "Model file from `akin train`.") var model: String
    @Option(help: "Folder to write the report into (created if needed).") var out: String
    @Option(help: "Gallery file from `akin embed`, made with --model.") var gallery: String?
    @Option(help: "Folder of <class>/<image> to embed and show, instead of --gallery.") var data: String?
    @Option(help: "Folder of <class>/<image> whose images query the gallery (default: queries drawn from it).") var queries: String?
    @Option(help: "Training log (CSV or JSON lines) written by `akin train --log`, for the training curves.") var log: String?
    @Option(help: "Points on the maps (a seeded sample of the gallery).") var sample = 2000
    @Option(help: "Queries in the retrieval grid.") var gridQueries = 20
    @Option(name: .short, help: "Results per query in the grid.") var k = 10
    @Option(help: "A query whose best similarity is below this is marked \"no match\".") var threshold: Float?
    @Option(help: "t-SNE perplexity (lowered to (N − 1) / 3 for small samples).") var perplexity: Double = 30
    @Option(help: "t-SNE iterations.") var tsneIterations = 1000
    @Option(help: "Seed for the map sample and the grid's queries.") var seed: UInt64 = 0
    @Option(help: "Compute threads (default: all cores).") var threads: Int?
    @OptionGroup var decoding: DecodingOptions

    func validate() throws {
        guard (gallery == nil) != (data == nil) else { throw ValidationError("give exactly one of --gallery and --data") }
        guard sample >= 4 else { throw ValidationError("--sample must be at least 4 (t-SNE needs 4 points)") }
        guard gridQueries >= 1, k >= 1 else { throw ValidationError("--grid-queries and -k must be positive") }
        guard perplexity > 0, tsneIterations >= 1 else { throw ValidationError("--perplexity and --tsne-iterations must be positive") }
    }

    func run() throws {
        try AkinCommand.configureThreads(threads)
        decoding.apply()
        var report = ModelReport(model: try EmbeddingModel.load(from: model), modelName: (model as NSString).lastPathComponent,
                                 source: data.map(ModelReport.Source.folder) ?? .gallery(gallery!))
        report.queryFolder = queries
        report.trainingLog = try log.map { try TrainingLogData.read(from: $0) }
        report.sample = sample
        report.gridQueries = gridQueries
        report.k = k
        report.threshold = threshold
        report.perplexity = perplexity
        report.tsneIterations = tsneIterations
        report.seed = seed
        try report.write(to: out, reporter: ConsoleReporter())
        Console.note("report written to \(out)/index.html (figures: map-tsne.png, map-pca.png, grid.png)")
    }
}
