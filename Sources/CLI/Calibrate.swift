import Akin
import ArgumentParser
import Foundation

struct Calibrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pick the similarity threshold under which `akin search` reports \"no match\", from a labelled validation folder.",
        discussion: """
            Each validation image (class sub-folders, images the gallery does not hold) is searched exactly in the gallery; \
            its best hit is right when it has the image's class. A threshold answers the images whose best similarity reaches it: \
            precision = right answers / answers, recall = right answers / images whose class the gallery holds. \
            Prints the precision/recall table and stores the chosen threshold in the gallery.
            """)

    @Option(help: "Model file from `akin train`.") var model: String
    @Option(help: "Validation folder: one sub-folder of images per class.") var data: String
    @Option(help: "Gallery file made with the same model.") var gallery: String
    @Option(help: "Target precision: the lowest threshold reaching it (default 0.95).") var precision: Double?
    @Flag(help: "Choose the threshold of best F1 instead of a target precision.") var bestF1 = false
    @Flag(help: "Print the table only; leave the gallery's threshold as it is.") var dryRun = false
    @Option(help: "Compute threads (default: all cores).") var threads: Int?
    @OptionGroup var decoding: DecodingOptions

    func validate() throws {
        if bestF1 && precision != nil { throw ValidationError("give --precision or --best-f1, not both") }
        if let precision, !(precision > 0 && precision <= 1) { throw ValidationError("--precision must be in (0, 1]") }
    }

    func run() throws {
        try AkinCommand.configureThreads(threads)
        decoding.apply()
        let gallery = try Akin.Gallery.open(self.gallery)
        let embedding = try EmbeddingModel.load(from: model)
        try gallery.requireModel(embedding)
        let images = try embedding.loadImages(paths: [data], reporter: ConsoleReporter())
        let target = precision ?? 0.95
        let result = try gallery.calibrate(vectors: try embedding.embed(images, reporter: ConsoleReporter()),
                                           labels: images.labels.map { images.classNames[Int($0)] },
                                           goal: bestF1 ? .bestF1 : .precision(target))
        let chosen = result.chosen

        print("threshold  answered  precision  recall    F1")
        for point in result.calibration.table(including: chosen) {
            print(String(format: "%9.4f  %8d  %9.4f  %6.4f  %6.4f%@", point.threshold, point.answered, point.precision, point.recall, point.f1,
                         point == chosen ? "  ← chosen" : ""))
        }
        print("\(result.queries) validation images" + (result.unseen > 0 ? ", \(result.unseen) of classes the gallery does not hold" : ""))
        guard let chosen else {
            throw CommandFailure(description: "no threshold reaches precision \(target) on \(data) (the best is \(String(format: "%.4f", result.calibration.curve.map(\.precision).max() ?? 0))); ask for a lower --precision or use --best-f1", status: ExitStatus.dataError)
        }
        let how = bestF1 ? "best F1" : "precision ≥ \(target)"
        if dryRun {
            print(String(format: "threshold %.4f (%@); the gallery keeps its own (--dry-run)", chosen.threshold, how))
        } else {
            try gallery.setThreshold(chosen.threshold)
            print(String(format: "threshold %.4f (%@: precision %.4f, recall %.4f) stored in %@; `akin search` uses it", chosen.threshold, how,
                         chosen.precision, chosen.recall, self.gallery))
        }
    }
}
