import Search
import Testing

@Suite("Threshold calibration")
struct ThresholdCalibrationTests {
    /// Six queries, by hand: similarities 0.9 ✓, 0.8 ✓, 0.7 ✗, 0.6 ✓, 0.5 ✗ (class not in the gallery), 0.4 ✓.
    /// Five queries have their class in the gallery. Answering down to t:
    ///   0.9: 1/1 right, recall 1/5 · 0.8: 2/2, 2/5 · 0.7: 2/3, 2/5 · 0.6: 3/4, 3/5 · 0.5: 3/5, 3/5 · 0.4: 4/6, 4/5.
    let queries = [
        ThresholdCalibration.Query(bestSimilarity: 0.6, correct: true),
        ThresholdCalibration.Query(bestSimilarity: 0.9, correct: true),
        ThresholdCalibration.Query(bestSimilarity: 0.5, correct: false, classInGallery: false),
        ThresholdCalibration.Query(bestSimilarity: 0.7, correct: false),
        ThresholdCalibration.Query(bestSimilarity: 0.4, correct: true),
        ThresholdCalibration.Query(bestSimilarity: 0.8, correct: true),
    ]

    @Test func curveAndChoicesMatchTheHandComputedCase() throws {
        let calibration = ThresholdCalibration(queries)
        let thresholds: [Float] = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
        let precisions: [Double] = [1, 1, 2.0 / 3, 0.75, 0.6, 4.0 / 6]
        let recalls: [Double] = [0.2, 0.4, 0.4, 0.6, 0.6, 0.8]
        #expect(calibration.curve.map(\.threshold) == thresholds)
        #expect(calibration.curve.map(\.precision) == precisions)
        #expect(calibration.curve.map(\.recall) == recalls)
        #expect(calibration.choose(.precision(1))?.threshold == 0.8)
        #expect(calibration.choose(.precision(0.7))?.threshold == 0.6)
        #expect(calibration.choose(.precision(0.6))?.threshold == 0.4)
        // F1: 0.333, 0.571, 0.5, 0.667, 0.6, 0.727 → the last.
        let best = try #require(calibration.choose(.bestF1))
        #expect(best.threshold == 0.4 && abs(best.f1 - 8.0 / 11) < 1e-12)
        #expect(ThresholdCalibration([ThresholdCalibration.Query(bestSimilarity: 0.3, correct: false)]).choose(.precision(0.5)) == nil)
    }

    @Test func tiedSimilaritiesAreAnsweredTogether() {
        let tied = ThresholdCalibration([.init(bestSimilarity: 0.5, correct: true), .init(bestSimilarity: 0.5, correct: false)])
        #expect(tied.curve.count == 1 && tied.curve[0].answered == 2 && tied.curve[0].precision == 0.5)
    }
}
