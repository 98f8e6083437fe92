import Foundation

/// An HTML report of a model, with its figures as PNG files: training curves, retrieval metrics
/// (all classes, seen and unseen in training), PCA and t-SNE maps and a retrieval grid.
///
/// `OUT/index.html` is self-contained (thumbnails inline, no network needed to view it);
/// `map-tsne.png`, `map-pca.png` and `grid.png` are the figures as images.
public struct ModelReport {
    /// Where the images shown come from.
    public enum Source {
        /// A folder of `<class>/<image>`, embedded now.
        case folder(String)
        /// A gallery made with the model; its images are read again for thumbnails.
        case gallery(String)
    }

    public var model: EmbeddingModel
    /// The model file's name, for the title.
    public var modelName: String
    public var source: Source
    /// A folder of `<class>/<image>` whose images query the source; nil: queries drawn from it
    /// (each searching all the others) and metrics leave-one-out.
    public var queryFolder: String?
    /// The rows of `akin train --log`, for the training curves.
    public var trainingLog: TrainingLogData?
    /// Points on the maps: a seeded sample of the source (at least 4, as t-SNE needs).
    public var sample = 2000
    /// Queries in the retrieval grid, and results per query.
    public var gridQueries = 20, k = 10
    /// A query whose best similarity is below this is marked "no match".
    public var threshold: Float?
    /// t-SNE's perplexity (lowered to (N − 1) / 3 for small samples) and iterations.
    public var perplexity: Double = 30, tsneIterations = 1000
    /// Seed of the map sample and the grid's queries.
    public var seed: UInt64 = 0

    public init(model: EmbeddingModel, modelName: String, source: Source) {
        self.model = model
        self.modelName = modelName
        self.source = source
    }

    /// Writes `index.html` and the figures into `folder` (created if needed); files are replaced whole.
    public func write(to folder: String, reporter: any WorkReporter = SilentReporter()) throws {
        let embedding = model
        let source: Embedded
        switch self.source {
        case let .folder(folder): source = try embed(folder: folder, reporter: reporter)
        case let .gallery(path): source = try galleryVectors(path)
        }
        let querySet = try queryFolder.map { try embed(folder: $0, reporter: reporter) }
        let out = folder
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)

        var classNames = Array(Set(source.classes)).sorted()
        for name in Set(querySet?.classes ?? []).subtracting(classNames).sorted() { classNames.append(name) }
        let classId = Dictionary(uniqueKeysWithValues: classNames.enumerated().map { ($1, $0) })
        let galleryLabels = source.classes.map { classId[$0]! }

        // `akin eval`'s evaluation: all classes, and apart the classes seen and not seen in training.
        let sourceVectors = LabelledVectors(vectors: source.vectors, classes: source.classes)
        let evaluation = querySet.map { ClassSplitEvaluation(queries: LabelledVectors(vectors: $0.vectors, classes: $0.classes), gallery: sourceVectors) }
            ?? ClassSplitEvaluation(queries: sourceVectors, gallery: nil)
        let metrics = evaluation.reports(trainingClasses: embedding.trainingClasses)
        let metricsCaption = querySet.map { "The \($0.paths.count) images of \($0.origin) searching the \(source.paths.count) of \(source.origin)." }
            ?? "Leave-one-out over the \(source.paths.count) images of \(source.origin): each searches all the others."

        // Items: the gallery's first, then the queries'; only those shown get a thumbnail.
        var items = zip(source.paths, source.classes).map { ReportItem(path: $0, className: $1, thumbnail: nil) }
        let queryOffset = items.count
        if let querySet { items += zip(querySet.paths, querySet.classes).map { ReportItem(path: $0, className: $1, thumbnail: nil) } }

        var generator = RandomGenerator(seed: seed)
        let mapRows = Self.sample(count: source.paths.count, keeping: sample, using: &generator)
        let maps = try projections(of: source.vectors, rows: mapRows, labels: galleryLabels, reporter: reporter)

        let grid = retrievalGrid(source: source, galleryLabels: galleryLabels, querySet: querySet, queryOffset: queryOffset,
                                 classId: classId, using: &generator)
        var shown = Set(mapRows)
        for row in grid { shown.insert(row.query); for r in row.results { shown.insert(r.item) } }
        loadThumbnails(&items, shown.sorted(), channels: embedding.preprocessing.channels, reporter: reporter)

        var content = ReportContent(
            title: "Akin report: \(modelName)",
            subtitle: "\(embedding.embeddingDimension)-d embeddings of \(source.paths.count) images from \(source.origin); \(classNames.count) classes; written \(ISO8601DateFormatter().string(from: Date())).",
            classNames: classNames, items: items, maps: maps, grid: grid, threshold: threshold, metrics: metrics.all,
            metricsCaption: metricsCaption, trainingLog: trainingLog)
        content.seenMetrics = metrics.seen
        content.unseenMetrics = metrics.unseen
        content.trainingClasses = embedding.trainingClasses.map(Set.init)
        func write(_ data: Data, _ name: String) throws {
            try AtomicFile.write(data, to: (out as NSString).appendingPathComponent(name), durable: false)
        }
        try write(Data(HTMLReport.page(content).utf8), "index.html")
        for map in maps { try write(ImageEncoder.png(PNGFigures.map(map, classNames: classNames)), "map-\(map.id).png") }
        try write(ImageEncoder.png(PNGFigures.grid(grid, items: items)), "grid.png")
    }

    /// Vectors with each one's path and class, and where they came from.
    struct Embedded {
        var vectors: Tensor
        var paths: [String]
        var classes: [String]
        var origin: String
    }

    func embed(folder: String, reporter: any WorkReporter) throws -> Embedded {
        let folders = try ClassFolders.scan(folder, requireTrainable: false)
        let images = model.loadImages(folders.files, classNames: folders.classNames, reporter: reporter)
        guard images.count > 0 else { throw DatasetError.nothingUsable(folder) }
        return Embedded(vectors: try model.embed(images, reporter: reporter), paths: images.paths,
                        classes: images.labels.map { images.classNames[Int($0)] }, origin: folder)
    }

    func galleryVectors(_ path: String) throws -> Embedded {
        let store = try GalleryAddress(path).open(readOnly: true)
        defer { try? store.close() }
        try store.requireModel(model.fingerprint)
        let (ids, vectors, _) = try store.allVectors()
        guard !ids.isEmpty else { throw GalleryStoreError.empty(path) }
        let items = try store.items(ids: ids)
        return Embedded(vectors: vectors, paths: ids.map { items[$0]?.path ?? "" }, classes: ids.map { items[$0]?.label ?? "" }, origin: path)
    }

    /// `keeping` of `count` rows, chosen by a seeded shuffle, in ascending order.
    static func sample(count: Int, keeping: Int, using generator: inout RandomGenerator) -> [Int] {
        guard keeping < count else { return Array(0..<count) }
        var rows = Array(0..<count)
        for i in 0..<keeping { rows.swapAt(i, i + generator.nextInt(below: count - i)) }
        return rows.prefix(keeping).sorted()
    }

    func projections(of vectors: Tensor, rows: [Int], labels: [Int], reporter: any WorkReporter) throws -> [EmbeddingMap] {
        let d = vectors.shape[1]
        let x = Tensor(shape: [rows.count, d])
        for (r, i) in rows.enumerated() { (x.pointer + r * d).update(from: vectors.pointer + i * d, count: d) }
        let pca = try PCA.fit(x, components: min(2, d))
        var pcaPoints = pca.project(x)
        if d == 1 { pcaPoints = pcaPoints.flatMap { [$0, 0] } }
        let ratio = pca.explainedVarianceRatio.map { String(format: "%.1f%%", $0 * 100) }.joined(separator: " + ")
        let progress = reporter.begin("t-SNE", total: tsneIterations, unit: "iterations")
        let started = Date()
        let tsne = try TSNE.embed(x, options: TSNEOptions(perplexity: perplexity, iterations: tsneIterations)) { done, _ in progress(done) }
        let seconds = Date().timeIntervalSince(started)
        reporter.note(String(format: "t-SNE of %d points: %.1f s, KL divergence %.3f", rows.count, seconds, tsne.divergence))
        let mapLabels = rows.map { labels[$0] }
        return [
            EmbeddingMap(id: "tsne", title: "t-SNE", caption: String(format: "%d points, perplexity %g, %d iterations (Barnes-Hut), KL divergence %.3f, %.1f s",
                                                                 rows.count, tsne.perplexity, tsneIterations, tsne.divergence, seconds),
                         points: tsne.points, items: rows, labels: mapLabels),
            EmbeddingMap(id: "pca", title: "PCA", caption: "\(rows.count) points, the first two principal components (\(ratio) of the variance)",
                         points: pcaPoints, items: rows, labels: mapLabels),
        ]
    }

    /// The grid's queries: from --queries when given (spread over its images), else drawn from the
    /// gallery in turn from each class; each gallery query skips itself among its results.
    func retrievalGrid(source: Embedded, galleryLabels: [Int], querySet: Embedded?, queryOffset: Int,
                       classId: [String: Int], using generator: inout RandomGenerator) -> [RetrievalRow] {
        let d = source.vectors.shape[1]
        let chosen: [Int]
        if let querySet {
            let n = querySet.paths.count
            chosen = (0..<min(gridQueries, n)).map { $0 * n / min(gridQueries, n) }
        } else {
            var byClass: [Int: [Int]] = [:]
            for (i, label) in galleryLabels.enumerated() { byClass[label, default: []].append(i) }
            var pools = byClass.keys.sorted().map { label -> [Int] in
                var rows = byClass[label]!
                rows.shuffle(using: &generator)
                return rows
            }
            var picked: [Int] = []
            while picked.count < min(gridQueries, galleryLabels.count) {
                for c in pools.indices where !pools[c].isEmpty && picked.count < gridQueries { picked.append(pools[c].removeFirst()) }
            }
            chosen = picked
        }
        let queryVectors = Tensor(shape: [chosen.count, d])
        let vectorsOfQueries = querySet?.vectors ?? source.vectors
        for (r, i) in chosen.enumerated() { (queryVectors.pointer + r * d).update(from: vectorsOfQueries.pointer + i * d, count: d) }
        let hits = FlatIndex(rows: source.vectors).search(queryVectors, k: k + (querySet == nil ? 1 : 0))
        return chosen.enumerated().map { r, i in
            let queryItem = querySet == nil ? i : queryOffset + i
            let queryLabel = querySet.map { classId[$0.classes[i]]! } ?? galleryLabels[i]
            let results = hits[r].filter { querySet != nil || $0.index != i }.prefix(k).map {
                RetrievalRow.Result(item: $0.index, similarity: $0.similarity, sameClass: galleryLabels[$0.index] == queryLabel)
            }
            let match = threshold.map { (results.first?.similarity ?? -.infinity) >= $0 } ?? true
            return RetrievalRow(query: queryItem, results: Array(results), match: match)
        }
    }

    /// Reads the shown images again, at most 64 pixels a side; a file that fails keeps no thumbnail.
    func loadThumbnails(_ items: inout [ReportItem], _ indices: [Int], channels: Int, reporter: any WorkReporter) {
        var failed = 0
        for i in indices {
            guard let image = try? ImageDecoder.decodeFile(items[i].path, channels: channels, minimumSide: 64) else { failed += 1; continue }
            let scale = min(1, 64 / Double(max(image.width, image.height)))
            items[i].thumbnail = scale < 1
                ? Resize.resize(image, width: max(1, Int(Double(image.width) * scale)), height: max(1, Int(Double(image.height) * scale)))
                : image
        }
        if failed > 0 { reporter.note("\(failed) images could not be read again for their thumbnails; they are shown blank") }
    }
}
