import Evaluation
import Images

/// One image shown in the report: where it came from, its class and a small picture of it.
public struct ReportItem: Sendable {
    public var path: String
    public var className: String
    /// nil when the file could not be read again for its thumbnail.
    public var thumbnail: Image?

    public init(path: String, className: String, thumbnail: Image?) {
        self.path = path
        self.className = className
        self.thumbnail = thumbnail
    }
}

/// A 2-D map of embeddings: each point an item (by index into the report's items) and its class.
public struct EmbeddingMap: Sendable {
    public var id: String
    public var title: String
    public var caption: String
    /// x, y per point.
    public var points: [Double]
    public var items: [Int]
    public var labels: [Int]

    public init(id: String, title: String, caption: String, points: [Double], items: [Int], labels: [Int]) {
        precondition(points.count == 2 * items.count && items.count == labels.count)
        self.id = id
        self.title = title
        self.caption = caption
        self.points = points
        self.items = items
        self.labels = labels
    }
}

/// One query and its nearest gallery items, best first.
public struct RetrievalRow: Sendable {
    public struct Result: Sendable {
        public var item: Int
        public var similarity: Float
        public var sameClass: Bool
        public init(item: Int, similarity: Float, sameClass: Bool) {
            self.item = item
            self.similarity = similarity
            self.sameClass = sameClass
        }
    }

    public var query: Int
    public var results: [Result]
    /// False when the best similarity is below the report's threshold.
    public var match: Bool

    public init(query: Int, results: [Result], match: Bool) {
        self.query = query
        self.results = results
        self.match = match
    }
}

/// Everything a report shows. Items are stored once and referred to by index from the maps and
/// the grid, so each thumbnail is embedded in the page once.
public struct ReportContent: Sendable {
    public var title: String
    public var subtitle: String
    public var classNames: [String]
    public var items: [ReportItem]
    public var maps: [EmbeddingMap]
    public var grid: [RetrievalRow]
    public var threshold: Float?
    public var metrics: RetrievalReport?
    public var metricsCaption: String
    /// The metrics over the classes the model was trained on and over the others, each searching
    /// among its own classes only; nil when the model does not list its training classes or a side is empty.
    public var seenMetrics: RetrievalReport?, unseenMetrics: RetrievalReport?
    /// The model's training classes, when its file lists them: the per-class table marks them.
    public var trainingClasses: Set<String>?
    public var trainingLog: TrainingLogData?

    public init(title: String, subtitle: String, classNames: [String], items: [ReportItem], maps: [EmbeddingMap],
                grid: [RetrievalRow], threshold: Float?, metrics: RetrievalReport?, metricsCaption: String, trainingLog: TrainingLogData?) {
        self.title = title
        self.subtitle = subtitle
        self.classNames = classNames
        self.items = items
        self.maps = maps
        self.grid = grid
        self.threshold = threshold
        self.metrics = metrics
        self.metricsCaption = metricsCaption
        self.trainingLog = trainingLog
    }
}
