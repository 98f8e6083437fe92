import ArgumentParser
import Evaluation
import Foundation
import Images
import Similarity
import Tensors

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
    @Argument(help: "Folder of <class>/<image> whose images are the queries.") var queryDir: String

    func validate() throws {
        if !pixels && model == nil { throw ValidationError("give --model, or --pixels for the raw-pixel baseline") }
        if classes != nil && requestedClasses.isEmpty { throw ValidationError("--classes needs class folder names, comma-separated") }
    }

    private var requestedClasses: [String] {
        (classes ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func run() throws {
        Akin.configureThreads(threads)
        let embedding = try model.map(EmbeddingModel.load(from:))
        let size = embedding?.preprocessing.imageSize ?? imageSize, channelCount = embedding?.preprocessing.channels ?? channels
        let wanted = classes == nil ? nil : requestedClasses
        // Both trees are listed (and --classes checked) before any image is decoded.
        let queryFolders = try Self.scan(queryDir, keeping: wanted)
        let galleryFolders = try galleryDir.map { try Self.scan($0, keeping: wanted) }

        func vectors(of folders: ClassFolders) throws -> LabelledVectors {
            let images = ImageLoading.load(folders.files, classNames: folders.classNames, imageSize: size, channels: channelCount,
                                           centerCrop: embedding?.preprocessing.centerCrop)
            guard images.count > 0 else { throw DatasetError.nothingUsable(folders.root) }
            let vectors = try embedding.map { try Embedding.run($0, images, batchSize: 256) } ?? PixelBaseline.vectors(images)
            return LabelledVectors(vectors: vectors, classes: images.labels.map { images.classNames[Int($0)] })
        }
        let evaluation = ClassSplitEvaluation(queries: try vectors(of: queryFolders), gallery: try galleryFolders.map(vectors(of:)))
        let reports = evaluation.reports(trainingClasses: embedding?.trainingClasses)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(reports), as: UTF8.self))
        } else {
            print(reports.text(trainingClasses: embedding?.trainingClasses.map(Set.init)))
        }
    }

    /// The tree's files, only those of `wanted` classes when given; a wanted class the tree lacks is an error.
    static func scan(_ folder: String, keeping wanted: [String]?) throws -> ClassFolders {
        var scanned = try ClassFolders.scan(folder, requireTrainable: false)
        guard let wanted else { return scanned }
        let unknown = wanted.filter { !scanned.classNames.contains($0) }
        guard unknown.isEmpty else { throw EvalError.unknownClasses(unknown, folder: folder, available: scanned.classNames) }
        let keep = Set(wanted)
        scanned.files = scanned.files.filter { keep.contains(scanned.classNames[$0.label]) }
        return scanned
    }
}

enum EvalError: Error, CustomStringConvertible {
    case unknownClasses([String], folder: String, available: [String])

    var description: String {
        switch self {
        case let .unknownClasses(names, folder, available):
            let list = names.map { "\"\($0)\"" }.joined(separator: ", ")
            return "--classes: \(folder) has no class folder named \(list). Its classes are: \(available.joined(separator: ", ")). Give folder names, comma-separated."
        }
    }
}

/// Vectors, one row per image, and each row's class name.
struct LabelledVectors {
    var vectors: Tensor
    var classes: [String]

    /// The rows whose class passes `keep`; nil when none does.
    func rows(where keep: (String) -> Bool) -> LabelledVectors? {
        let indices = classes.indices.filter { keep(classes[$0]) }
        guard !indices.isEmpty else { return nil }
        if indices.count == classes.count { return self }
        let d = vectors.shape[1]
        let selected = Tensor(shape: [indices.count, d])
        for (row, i) in indices.enumerated() { (selected.pointer + row * d).update(from: vectors.pointer + i * d, count: d) }
        return LabelledVectors(vectors: selected, classes: indices.map { classes[$0] })
    }
}

/// Queries against a gallery (or leave-one-out among the queries), evaluated over all classes and
/// over the classes a model was or was not trained on.
struct ClassSplitEvaluation {
    var queries: LabelledVectors
    var gallery: LabelledVectors?

    /// Every class present, sorted: the label numbers the metrics see.
    var classNames: [String] { Array(Set(queries.classes + (gallery?.classes ?? []))).sorted() }

    func reports(trainingClasses: [String]?) -> EvalReports {
        let all = report(keeping: { _ in true })!
        guard let trainingClasses else { return EvalReports(all: all) }
        let trained = Set(trainingClasses), present = Set(classNames)
        // A part holding every class is the whole: no second search and clustering.
        func part(_ keep: @escaping (String) -> Bool) -> RetrievalReport? {
            let classes = present.filter(keep)
            let result = classes.isEmpty ? nil : classes.count == present.count ? all : report(keeping: keep)
            return result.flatMap { $0.queries > 0 ? $0 : nil }
        }
        return EvalReports(all: all, seen: part { trained.contains($0) }, unseen: part { !trained.contains($0) })
    }

    /// Queries and gallery cut to the classes that pass `keep`; nil when no query is left.
    func report(keeping keep: (String) -> Bool) -> RetrievalReport? {
        let names = classNames
        var ids: [String: Int] = [:]
        for (id, name) in names.enumerated() { ids[name] = id }
        guard let q = queries.rows(where: keep) else { return nil }
        let queryLabels = q.classes.map { ids[$0]! }
        guard let gallery else {
            return RetrievalMetrics.evaluate(queries: q.vectors, queryLabels: queryLabels, gallery: q.vectors, galleryLabels: queryLabels,
                                             leaveOneOut: true, classNames: names)
        }
        let g = gallery.rows(where: keep) ?? LabelledVectors(vectors: Tensor(shape: [0, gallery.vectors.shape[1]]), classes: [])
        return RetrievalMetrics.evaluate(queries: q.vectors, queryLabels: queryLabels, gallery: g.vectors,
                                         galleryLabels: g.classes.map { ids[$0]! }, leaveOneOut: false, classNames: names)
    }
}

/// What `akin eval` prints.
struct EvalReports: Encodable {
    var all: RetrievalReport
    var seen: RetrievalReport?
    var unseen: RetrievalReport?

    enum CodingKeys: String, CodingKey { case all, seen, unseen }

    func encode(to encoder: Encoder) throws {
        // all's keys at the top level too, as before the split existed, for readers of the single report.
        try all.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(all, forKey: .all)
        try container.encodeIfPresent(seen, forKey: .seen)
        try container.encodeIfPresent(unseen, forKey: .unseen)
    }

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

enum PixelBaseline {
    /// Each image's [0, 1] pixels as one unit-length vector.
    static func vectors(_ images: ImageSet) -> Tensor {
        let d = images.valuesPerImage
        let result = Tensor(shape: [images.count, d])
        images.fill(result.pointer, indices: 0..<images.count, preprocessing: Preprocessing(imageSize: images.imageSize, channels: images.channels))
        for row in 0..<images.count {
            let v = result.pointer + row * d
            let norm = (Elementwise.dot(v, v, count: d) + 1e-12).squareRoot()
            for j in 0..<d { v[j] /= norm }
        }
        return result
    }
}
