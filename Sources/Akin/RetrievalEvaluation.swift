/// Retrieval quality of a model (or of raw pixels) on folders of labelled images: Precision@1,
/// Recall@10, R-Precision, MAP@R and NMI, over all classes and apart over the classes the model
/// was and was not trained on (the class-disjoint protocol of metric-learning benchmarks).
public enum RetrievalEvaluation {
    /// What turns images into vectors.
    public enum Embedder {
        case model(EmbeddingModel)
        /// Each image's pixels at `imageSize` × `imageSize`, unit length: the baseline a model has to beat.
        case pixels(imageSize: Int, channels: Int)
    }

    /// Evaluates `embedder` with the images of `queryFolder` (`<class>/<image>`) as queries: against
    /// those of `galleryFolder`, or leave-one-out among themselves when it is nil. `classes` keeps
    /// only the named classes in both; a name neither folder has is an error that lists theirs.
    /// Both trees are listed (and `classes` checked) before any image is decoded.
    public static func evaluate(_ embedder: Embedder, queryFolder: String, galleryFolder: String? = nil, classes: [String]? = nil,
                                batchSize: Int = 256, reporter: any WorkReporter = SilentReporter()) throws -> EvalReports {
        let queryTree = try ClassFolders.scan(queryFolder, keeping: classes)
        let galleryTree = try galleryFolder.map { try ClassFolders.scan($0, keeping: classes) }
        let evaluation = ClassSplitEvaluation(queries: try vectors(of: queryTree, embedder, batchSize: batchSize, reporter: reporter),
                                              gallery: try galleryTree.map { try vectors(of: $0, embedder, batchSize: batchSize, reporter: reporter) })
        if case let .model(model) = embedder { return evaluation.reports(trainingClasses: model.trainingClasses) }
        return evaluation.reports(trainingClasses: nil)
    }

    /// The tree's images as vectors with their class names.
    public static func vectors(of tree: ClassFolders, _ embedder: Embedder, batchSize: Int = 256,
                               reporter: any WorkReporter = SilentReporter()) throws -> LabelledVectors {
        let images: ImageSet
        switch embedder {
        case let .model(model): images = model.loadImages(tree.files, classNames: tree.classNames, reporter: reporter)
        case let .pixels(size, channels):
            images = ImageSet.load(tree.files, classNames: tree.classNames, imageSize: size, channels: channels, reporter: reporter)
        }
        guard images.count > 0 else { throw DatasetError.nothingUsable(tree.root) }
        let vectors: Tensor
        switch embedder {
        case let .model(model): vectors = try model.embed(images, batchSize: batchSize, reporter: reporter)
        case .pixels: vectors = images.pixelVectors()
        }
        return LabelledVectors(vectors: vectors, classes: images.labels.map { images.classNames[Int($0)] })
    }
}
