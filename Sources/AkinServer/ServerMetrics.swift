import Akin
import Foundation
import Metrics
import Prometheus

/// The Prometheus registry behind /metrics. swift-metrics has one process-wide backend, so the
/// first server of a process installs it; request counts and latencies come from Hummingbird's
/// MetricsMiddleware, embedding batch sizes from the batchers, collection sizes and index state
/// from `refresh` at each scrape.
enum ServerMetrics {
    static let registry = PrometheusCollectorRegistry()

    private static let installed: Bool = {
        var factory = PrometheusMetricsFactory(registry: registry)
        // Searches take tenths of a millisecond: the default buckets start at 5 ms.
        factory.defaultDurationHistogramBuckets = [.microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
                                                   .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                                                   .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                                                   .seconds(1), .seconds(2), .seconds(5), .seconds(10)]
        factory.valueHistogramBuckets["akin_embedding_batch_size"] = [1, 2, 4, 8, 16, 32, 64, 128]
        MetricsSystem.bootstrap(factory)
        return true
    }()

    /// Installs the backend once per process.
    static func install() { _ = installed }

    /// Items and index state of every collection, read as the scrape asks.
    static func refresh(_ shelf: CollectionShelf) async {
        for collection in await shelf.all {
            guard let (count, freshness) = try? await collection.read({ (try $0.count, try API.freshness(of: $0)) }) else { continue }
            Gauge(label: "akin_collection_items", dimensions: [("collection", collection.name.value)]).record(count)
            let (kind, current): (String, Int) = switch freshness {
            case .none: ("exact", 1)
            case let .upToDate(kind): (kind.rawValue, 1)
            case let .stale(kind): (kind.rawValue, 0)
            case let .unusable(kind, _): (kind.rawValue, 0)
            }
            Gauge(label: "akin_collection_index_current", dimensions: [("collection", collection.name.value), ("kind", kind)]).record(current)
        }
    }
}
