import ArgumentParser
import Evaluation
import Foundation
import Images
import Similarity
import Tensors

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure retrieval quality: Precision@1, Recall@10 and MAP@R.",
        discussion: "Without --gallery-dir every image of QUERY_DIR queries all the others (leave-one-out); with it, QUERY_DIR's images query DIR's. --pixels measures the raw-pixel baseline instead of a model.")

    @Option(help: "Model file from `akin train`.") var model: String?
    @Option(help: "Folder of <class>/<image> to search in (default: leave-one-out over QUERY_DIR).") var galleryDir: String?
    @Flag(help: "Print {precision_at_1, recall_at_10, map_at_r, queries} as JSON.") var json = false
    @Flag(help: "Use the raw pixels (unit-length) instead of a model: the baseline to beat.") var pixels = false
    @Option(help: "With --pixels: image size.") var imageSize = 28
    @Option(help: "With --pixels: 1 or 3 channels.") var channels = 1
    @Option(help: "Compute threads (default: all cores).") var threads: Int?
    @Argument(help: "Folder of <class>/<image> whose images are the queries.") var queryDir: String

    func validate() throws {
        if !pixels && model == nil { throw ValidationError("give --model, or --pixels for the raw-pixel baseline") }
    }

    func run() throws {
        Akin.configureThreads(threads)
        let embedding = try model.map(EmbeddingModel.load(from:))
        let size = embedding?.preprocessing.imageSize ?? imageSize, channelCount = embedding?.preprocessing.channels ?? channels

        func vectors(of folder: String, classNames: [String]?) throws -> (Tensor, [String], [Int32]) {
            let scanned = try ClassFolders.scan(folder, requireTrainable: false)
            let images = ImageLoading.load(scanned.files, classNames: scanned.classNames, imageSize: size, channels: channelCount)
            guard images.count > 0 else { throw DatasetError.nothingUsable(folder) }
            let vectors = embedding.map { Embedding.run($0, images, batchSize: 256) } ?? PixelBaseline.vectors(images)
            return (vectors, images.classNames, images.labels)
        }

        let (queries, queryClasses, queryLabels) = try vectors(of: queryDir, classNames: nil)
        let report: RetrievalReport
        if let galleryDir {
            let (gallery, galleryClasses, galleryLabels) = try vectors(of: galleryDir, classNames: nil)
            // Classes match by folder name across the two trees.
            var ids: [String: Int] = [:]
            for name in galleryClasses + queryClasses where ids[name] == nil { ids[name] = ids.count }
            report = RetrievalMetrics.evaluate(queries: queries, queryLabels: queryLabels.map { ids[queryClasses[Int($0)]]! },
                                               gallery: gallery, galleryLabels: galleryLabels.map { ids[galleryClasses[Int($0)]]! },
                                               leaveOneOut: false)
        } else {
            let labels = queryLabels.map(Int.init)
            report = RetrievalMetrics.evaluate(queries: queries, queryLabels: labels, gallery: queries, galleryLabels: labels, leaveOneOut: true)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(String(format: "queries       %d\nPrecision@1   %.4f\nRecall@10     %.4f\nMAP@R         %.4f",
                         report.queries, report.precisionAt1, report.recallAt10, report.mapAtR))
        }
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
