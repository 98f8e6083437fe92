import Foundation
import TestSupport
import Evaluation
import Tensors
import Testing

@Suite("Retrieval metrics")
struct MetricsTests {
    @Test func handComputedQuery() {
        // R = 3 relevant items, ranked at positions 1, 3 and 5: AP@R and R-Precision count only the first 3 ranks.
        let s = RetrievalMetrics.score(relevance: [true, false, true, false, true], relevantCount: 3)
        #expect(s.precisionAt1 == 1 && s.recallAt10 == 1)
        #expect(abs(s.averagePrecisionAtR - (1.0 + 2.0 / 3.0) / 3.0) < 1e-12)
        #expect(abs(s.rPrecision - 2.0 / 3.0) < 1e-12)
        let miss = RetrievalMetrics.score(relevance: [false] * 10 + [true], relevantCount: 1)
        #expect(miss.precisionAt1 == 0 && miss.recallAt10 == 0 && miss.averagePrecisionAtR == 0 && miss.rPrecision == 0)
        #expect(RetrievalMetrics.score(relevance: [true, true], relevantCount: 2).averagePrecisionAtR == 1)
    }

    @Test func rPrecisionCountsTheFirstRRanksOnly() {
        #expect(RetrievalMetrics.score(relevance: [true, false, false], relevantCount: 1).rPrecision == 1)
        #expect(RetrievalMetrics.score(relevance: [false, true, true], relevantCount: 2).rPrecision == 0.5)
        // 4 relevant: 2 of them in the first 4 ranks, the other 2 just after.
        #expect(RetrievalMetrics.score(relevance: [true, true, false, false, true, true], relevantCount: 4).rPrecision == 0.5)
        #expect(RetrievalMetrics.score(relevance: [false, false, true, true, true], relevantCount: 3).rPrecision == 1.0 / 3.0)
        // R-Precision ignores order inside the first R ranks; AP@R does not.
        let early = RetrievalMetrics.score(relevance: [true, false, false], relevantCount: 2)
        let late = RetrievalMetrics.score(relevance: [false, true, false], relevantCount: 2)
        #expect(early.rPrecision == late.rPrecision && early.averagePrecisionAtR > late.averagePrecisionAtR)
    }

    @Test func leaveOneOutOnATinySet() {
        // 1-d "embeddings" on a circle: two tight pairs, so each query's neighbour is its partner.
        let vectors = Tensor(shape: [4, 2], values: [1, 0, 0.99, 0.141, 0, 1, 0.141, 0.99])
        let report = RetrievalMetrics.evaluate(queries: vectors, queryLabels: [0, 0, 1, 1], gallery: vectors,
                                               galleryLabels: [0, 0, 1, 1], leaveOneOut: true, classNames: ["left", "right"])
        #expect(report == RetrievalReport(precisionAt1: 1, recallAt10: 1, rPrecision: 1, mapAtR: 1, nmi: 1, queries: 4, perClass: [
            ClassRetrievalReport(className: "left", queries: 2, precisionAt1: 1, mapAtR: 1),
            ClassRetrievalReport(className: "right", queries: 2, precisionAt1: 1, mapAtR: 1),
        ]))
        let swapped = RetrievalMetrics.evaluate(queries: vectors, queryLabels: [0, 1, 0, 1], gallery: vectors,
                                                galleryLabels: [0, 1, 0, 1], leaveOneOut: true)
        #expect(swapped.precisionAt1 == 0 && swapped.mapAtR == 0 && swapped.rPrecision == 0)
        // The clusters are the pairs, which now cut across both classes evenly.
        #expect(swapped.nmi == 0)
        #expect(swapped.perClass.map(\.className) == ["0", "1"])
    }

    @Test func matchesNumpy() throws {
        let fixture = try Fixture.json("numpy_metrics.json")
        let labels = Fixture.ints(fixture["labels"]), d = fixture["dimension"] as! Int
        let vectors = Tensor(shape: [labels.count, d], values: Fixture.floats(fixture["vectors"]))
        let report = RetrievalMetrics.evaluate(queries: vectors, queryLabels: labels, gallery: vectors, galleryLabels: labels, leaveOneOut: true)
        expect(report, matches: fixture)
    }

    @Test func matchesNumpyWithASeparateGallery() throws {
        let fixture = try Fixture.json("numpy_metrics.json")["gallery_case"] as! [String: Any]
        let d = fixture["dimension"] as! Int
        let queryLabels = Fixture.ints(fixture["query_labels"]), galleryLabels = Fixture.ints(fixture["gallery_labels"])
        let report = RetrievalMetrics.evaluate(
            queries: Tensor(shape: [queryLabels.count, d], values: Fixture.floats(fixture["queries_vectors"])), queryLabels: queryLabels,
            gallery: Tensor(shape: [galleryLabels.count, d], values: Fixture.floats(fixture["gallery_vectors"])), galleryLabels: galleryLabels,
            leaveOneOut: false)
        expect(report, matches: fixture)
    }

    @Test func reportEncodesTheDocumentedKeys() throws {
        let report = RetrievalReport(precisionAt1: 0.5, recallAt10: 1, rPrecision: 0.25, mapAtR: 0.125, nmi: 0.75, queries: 2,
                                     perClass: [ClassRetrievalReport(className: "a", queries: 2, precisionAt1: 0.5, mapAtR: 0.125)])
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let text = String(decoding: try encoder.encode(report), as: UTF8.self)
        #expect(text == #"{"map_at_r":0.125,"nmi":0.75,"per_class":[{"class":"a","map_at_r":0.125,"precision_at_1":0.5,"queries":2}],"precision_at_1":0.5,"queries":2,"r_precision":0.25,"recall_at_10":1}"#)
        #expect(try JSONDecoder().decode(RetrievalReport.self, from: Data(text.utf8)) == report)
    }

    private func expect(_ report: RetrievalReport, matches fixture: [String: Any]) {
        #expect(report.queries == fixture["queries"] as! Int)
        #expect(abs(report.precisionAt1 - (fixture["precision_at_1"] as! Double)) < 1e-9)
        #expect(abs(report.recallAt10 - (fixture["recall_at_10"] as! Double)) < 1e-9)
        #expect(abs(report.rPrecision - (fixture["r_precision"] as! Double)) < 1e-9)
        #expect(abs(report.mapAtR - (fixture["map_at_r"] as! Double)) < 1e-9)
        let perClass = fixture["per_class"] as! [[String: Any]]
        #expect(report.perClass.count == perClass.count)
        for (ours, theirs) in zip(report.perClass, perClass) {
            #expect(ours.className == String(theirs["class"] as! Int))
            #expect(ours.queries == theirs["queries"] as! Int)
            #expect(abs(ours.precisionAt1 - (theirs["precision_at_1"] as! Double)) < 1e-9)
            #expect(abs(ours.mapAtR - (theirs["map_at_r"] as! Double)) < 1e-9)
        }
    }
}

private func * (value: [Bool], count: Int) -> [Bool] { Array(repeating: value, count: count).flatMap { $0 } }
