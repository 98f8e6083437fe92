import TestSupport
import Evaluation
import Tensors
import Testing

@Suite("Retrieval metrics")
struct MetricsTests {
    @Test func handComputedQuery() {
        // R = 3 relevant items, ranked at positions 1, 3 and 5: AP@R counts only the first 3 ranks.
        let s = RetrievalMetrics.score(relevance: [true, false, true, false, true], relevantCount: 3)
        #expect(s.precisionAt1 == 1 && s.recallAt10 == 1)
        #expect(abs(s.averagePrecisionAtR - (1.0 + 2.0 / 3.0) / 3.0) < 1e-12)
        let miss = RetrievalMetrics.score(relevance: [false] * 10 + [true], relevantCount: 1)
        #expect(miss.precisionAt1 == 0 && miss.recallAt10 == 0 && miss.averagePrecisionAtR == 0)
        #expect(RetrievalMetrics.score(relevance: [true, true], relevantCount: 2).averagePrecisionAtR == 1)
    }

    @Test func leaveOneOutOnATinySet() {
        // 1-d "embeddings" on a circle: two tight pairs, so each query's neighbour is its partner.
        let vectors = Tensor(shape: [4, 2], values: [1, 0, 0.99, 0.141, 0, 1, 0.141, 0.99])
        let report = RetrievalMetrics.evaluate(queries: vectors, queryLabels: [0, 0, 1, 1], gallery: vectors,
                                               galleryLabels: [0, 0, 1, 1], leaveOneOut: true)
        #expect(report == RetrievalReport(precisionAt1: 1, recallAt10: 1, mapAtR: 1, queries: 4))
        let swapped = RetrievalMetrics.evaluate(queries: vectors, queryLabels: [0, 1, 0, 1], gallery: vectors,
                                                galleryLabels: [0, 1, 0, 1], leaveOneOut: true)
        #expect(swapped.precisionAt1 == 0 && swapped.mapAtR == 0)
    }

    @Test func matchesNumpy() throws {
        let fixture = try Fixture.json("numpy_metrics.json")
        let labels = Fixture.ints(fixture["labels"]), d = fixture["dimension"] as! Int
        let vectors = Tensor(shape: [labels.count, d], values: Fixture.floats(fixture["vectors"]))
        let report = RetrievalMetrics.evaluate(queries: vectors, queryLabels: labels, gallery: vectors, galleryLabels: labels, leaveOneOut: true)
        #expect(report.queries == fixture["queries"] as! Int)
        #expect(abs(report.precisionAt1 - (fixture["precision_at_1"] as! Double)) < 1e-9)
        #expect(abs(report.recallAt10 - (fixture["recall_at_10"] as! Double)) < 1e-9)
        #expect(abs(report.mapAtR - (fixture["map_at_r"] as! Double)) < 1e-9)
    }
}

private func * (value: [Bool], count: Int) -> [Bool] { Array(repeating: value, count: count).flatMap { $0 } }
