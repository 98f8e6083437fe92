import Akin
import ArgumentParser
import Foundation

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure retrieval quality: Precision@1, Recall@10, R-Precision, MAP@R and NMI.",
        discussion: """
            Without --gallery-dir every image of QUERY_DIR queries all the others (leave-one-out); with it, QUERY_DIR's images \
            query DIR's. --pixels measures the raw-pixel baseline instead of a model. --classes keeps only the named classes, \
            in the queries and the gallery alike. When the model file records the classes it was trained on, two more reports \
            follow: the classes seen in training and the classes not seen, each searching among its own classes only \
            (the class-disjoint protocol of metric-learning benchmarks).
            """)

    @Option(help: "Model file from `akin train`.") var model: String?
    @Option(help: "Folder of <class>/<image> to search in (default: leave-one-out over QUERY_DIR).") var galleryDir: String?
    @Option(help: "Only these classes (comma-separated folder names), in the queries and the gallery alike.") var classes: String?
    @Flag(help: "Print JSON: {\"all\", \"seen\", \"unseen\"} reports (seen and unseen only when known and not empty), and all's keys at the top level too.") var json = false
    @Flag(help: "Use the raw pixels (unit-length) instead of a model: the baseline to beat.") var pixels = false
    @Option(help: "With --pixels: image size.") var imageSize = 28
    @Option(help: "With --pixels: 1 or 3 channels.") var channels = 1
    @Option(help: "Compute threads (default: all cores).") var threads: Int?
    @OptionGroup var decoding: DecodingOptions
    @Argument(help: "Folder of <class>/<image> whose images are the queries.") var queryDir: String

    func validate() throws {
        if !pixels && model == nil { throw ValidationError("give --model, or --pixels for the raw-pixel baseline") }
        if classes != nil && requestedClasses.isEmpty { throw ValidationError("--classes needs class folder names, comma-separated") }
    }

    private var requestedClasses: [String] {
        (classes ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func run() throws {
        try AkinCommand.configureThreads(threads)
        decoding.apply()
        let embedding = try model.map(EmbeddingModel.load(from:))
        let reports = try RetrievalEvaluation.evaluate(embedding.map { .model($0) } ?? .pixels(imageSize: imageSize, channels: channels),
                                                       queryFolder: queryDir, galleryFolder: galleryDir,
                                                       classes: classes == nil ? nil : requestedClasses, reporter: ConsoleReporter())
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(reports), as: UTF8.self))
        } else {
            print(reports.text(trainingClasses: embedding?.trainingClasses.map(Set.init)))
        }
    }
}

extension EvalReports {
    /// A summary row per report, then one row per class of the whole set (marked when trained on).
    func text(trainingClasses: Set<String>?) -> String {
        let parts = [("all", all), ("seen in training", seen), ("not seen in training", unseen)].compactMap { name, report in
            report.map { (name + " (\($0.perClass.count) class\($0.perClass.count == 1 ? "" : "es"))", $0) }
        }
        let nameWidth = max(parts.map(\.0.count).max() ?? 0, 5)
        var lines = [pad("", nameWidth) + "  queries     P@1    R@10  R-Prec   MAP@R     NMI"]
        for (name, r) in parts {
            lines.append(pad(name, nameWidth) + String(format: "  %7d  %6.4f  %6.4f  %6.4f  %6.4f  %6.4f",
                                                        r.queries, r.precisionAt1, r.recallAt10, r.rPrecision, r.mapAtR, r.nmi))
        }
        let classWidth = max(all.perClass.map(\.className.count).max() ?? 0, 5)
        lines.append("")
        lines.append(pad("class", classWidth) + "  queries     P@1   MAP@R" + (trainingClasses == nil ? "" : "  trained on"))
        for c in all.perClass {
            let trained = trainingClasses.map { $0.contains(c.className) ? "  yes" : "  no" } ?? ""
            lines.append(pad(c.className, classWidth) + String(format: "  %7d  %6.4f  %6.4f", c.queries, c.precisionAt1, c.mapAtR) + trained)
        }
        return lines.joined(separator: "\n")
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(width - text.count, 0))
    }
}
