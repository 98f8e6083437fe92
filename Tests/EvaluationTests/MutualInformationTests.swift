import Evaluation
import Foundation
import Tensors
import TestSupport
import Testing

@Suite("Normalized mutual information")
struct MutualInformationTests {
    @Test func identicalAndRelabelledLabelingsScoreOne() {
        let labels = [0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 3]
        #expect(abs(MutualInformation.normalizedMutualInformation(labels, labels) - 1) < 1e-12)
        let renamed = labels.map { [7, -1, 40, 2][$0] }
        #expect(abs(MutualInformation.normalizedMutualInformation(labels, renamed) - 1) < 1e-12)
        #expect(abs(MutualInformation.mutualInformation(labels, renamed) - MutualInformation.entropy(labels)) < 1e-12)
    }

    @Test func independentLabelingsScoreNearZero() {
        var generator = RandomGenerator(seed: 5)
        let a = (0..<20_000).map { _ in generator.nextInt(below: 10) }
        let b = (0..<20_000).map { _ in generator.nextInt(below: 10) }
        let nmi = MutualInformation.normalizedMutualInformation(a, b)
        #expect(nmi >= 0 && nmi < 0.005)
        // Exactly independent: every class split evenly over every cluster.
        #expect(MutualInformation.normalizedMutualInformation([0, 0, 1, 1], [0, 1, 0, 1]) == 0)
    }

    @Test func limitCasesFollowScikitLearn() {
        #expect(MutualInformation.normalizedMutualInformation([3, 3, 3], [1, 1, 1]) == 1)
        #expect(MutualInformation.normalizedMutualInformation([], []) == 1)
        #expect(MutualInformation.normalizedMutualInformation([3, 3, 3, 3], [0, 1, 0, 1]) == 0)
        #expect(MutualInformation.entropy([5, 5]) == 0)
        #expect(abs(MutualInformation.entropy([0, 1]) - log(2)) < 1e-15)
    }

    @Test func symmetric() {
        let a = [0, 1, 1, 2, 2, 2, 0, 1], b = [1, 1, 0, 0, 2, 2, 2, 0]
        #expect(abs(MutualInformation.normalizedMutualInformation(a, b) - MutualInformation.normalizedMutualInformation(b, a)) < 1e-15)
    }

    @Test func matchesNumpy() throws {
        let cases = try Fixture.json("numpy_metrics.json")["nmi_cases"] as! [[String: Any]]
        #expect(cases.count >= 8)
        for c in cases {
            let a = Fixture.ints(c["a"]), b = Fixture.ints(c["b"])
            let expected = c["nmi"] as! Double
            #expect(abs(MutualInformation.normalizedMutualInformation(a, b) - expected) < 1e-12, "\(a) vs \(b)")
        }
    }
}
