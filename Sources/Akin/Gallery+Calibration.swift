/// A threshold calibration on labelled validation vectors, before it is stored.
public struct Calibration: Sendable {
    /// Precision and recall at every threshold.
    public var calibration: ThresholdCalibration
    /// The threshold the goal picked; nil when no threshold reaches it.
    public var chosen: ThresholdCalibration.Point?
    /// Validation queries whose class the gallery does not hold (a right answer for them is "no match").
    public var unseen: Int
    public var queries: Int
}

extension Gallery {
    /// Searches each validation vector exactly and picks the similarity threshold that meets `goal`:
    /// a query's best hit is right when it has the query's label; a threshold answers the queries
    /// whose best similarity reaches it (precision = right answers / answers, recall = right
    /// answers / queries whose label the gallery holds). Nothing is stored: pass the chosen
    /// threshold to ``setThreshold(_:)``.
    /// - Parameters:
    ///   - vectors: [Q, D] embeddings of images the gallery does not hold.
    ///   - labels: each row's class name.
    ///   - goal: the lowest threshold reaching a precision, or the threshold of best F1.
    public func calibrate(vectors: Tensor, labels: [String], goal: ThresholdCalibration.Goal) throws -> Calibration {
        let exact = try FlatIndex(exactOf: store)
        guard exact.count > 0 else { throw GalleryStoreError.empty(path) }
        let best = exact.search(try queries(vectors, from: "the validation vectors"), k: 1).map { $0[0] }
        let galleryLabels = Set(try store.labelCounts().map(\.label))
        let bestItems = try store.items(ids: best.map(\.index))
        let validation = labels.indices.map { i in
            ThresholdCalibration.Query(bestSimilarity: best[i].similarity, correct: bestItems[best[i].index]?.label == labels[i],
                                       classInGallery: galleryLabels.contains(labels[i]))
        }
        let calibration = ThresholdCalibration(validation)
        return Calibration(calibration: calibration, chosen: calibration.choose(goal),
                           unseen: validation.filter { !$0.classInGallery }.count, queries: validation.count)
    }
}
