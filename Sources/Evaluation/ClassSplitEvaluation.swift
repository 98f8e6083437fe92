import Tensors

/// Vectors, one row per image, and each row's class name.
public struct LabelledVectors {
    /// [N, D].
    public var vectors: Tensor
    /// Row i's class name.
    public var classes: [String]

    public init(vectors: Tensor, classes: [String]) {
        self.vectors = vectors
        self.classes = classes
    }

    /// The rows whose class passes `keep`; nil when none does.
    public func rows(where keep: (String) -> Bool) -> LabelledVectors? {
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
public struct ClassSplitEvaluation {
    public var queries: LabelledVectors
    /// nil: leave-one-out among the queries.
    public var gallery: LabelledVectors?

    public init(queries: LabelledVectors, gallery: LabelledVectors? = nil) {
        self.queries = queries
        self.gallery = gallery
    }

    /// Every class present, sorted: the label numbers the metrics see.
    public var classNames: [String] { Array(Set(queries.classes + (gallery?.classes ?? []))).sorted() }

    /// All classes, and apart the classes in `trainingClasses` (seen) and not in them (unseen),
    /// each searching among its own classes only; seen and unseen are nil when unknown or empty.
    public func reports(trainingClasses: [String]?) -> EvalReports {
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
    public func report(keeping keep: (String) -> Bool) -> RetrievalReport? {
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

/// Retrieval quality over all classes and, when the model records its training classes, over the
/// classes seen and not seen in training.
public struct EvalReports: Encodable, Sendable {
    public var all: RetrievalReport
    public var seen: RetrievalReport?
    public var unseen: RetrievalReport?

    public init(all: RetrievalReport, seen: RetrievalReport? = nil, unseen: RetrievalReport? = nil) {
        self.all = all
        self.seen = seen
        self.unseen = unseen
    }

    enum CodingKeys: String, CodingKey { case all, seen, unseen }

    public func encode(to encoder: Encoder) throws {
        // all's keys at the top level too, as before the split existed, for readers of the single report.
        try all.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(all, forKey: .all)
        try container.encodeIfPresent(seen, forKey: .seen)
        try container.encodeIfPresent(unseen, forKey: .unseen)
    }
}
