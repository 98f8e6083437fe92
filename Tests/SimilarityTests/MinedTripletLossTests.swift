import TestSupport
import Foundation
import Similarity
import Tensors
import Testing

@Suite("Mined triplet loss")
struct MinedTripletLossTests {
    /// 4 classes of 3 around random centres, plus one image alone in its class (an anchor with no
    /// positive, still a negative for the others): some triplets active, some not.
    static let labels: [Int32] = [0, 1, 2, 3, 0, 1, 2, 3, 4, 0, 1, 2, 3]

    static func clusteredEmbeddings(labels: [Int32] = labels, dimension d: Int = 6, spread: Float = 0.8, seed: UInt64 = 17) -> Tensor {
        var generator = RandomGenerator(seed: seed)
        let classes = Int(labels.max()!) + 1
        let centres = (0..<(classes * d)).map { _ in generator.nextFloat() * 2 - 1 }
        let t = Tensor(shape: [labels.count, d])
        for (i, label) in labels.enumerated() {
            for c in 0..<d { t[i * d + c] = centres[Int(label) * d + c] + spread * (generator.nextFloat() * 2 - 1) }
        }
        return t
    }

    static let margins: [Distance: Float] = [.l2: 0.5, .cosine: 0.2]

    @Test(arguments: MinerKind.batchMiners, Distance.allCases)
    func matchesTheReference(mining: MinerKind, distance: Distance) {
        let embeddings = Self.clusteredEmbeddings()
        let d = embeddings.shape[1]
        for softMargin in [false, true] {
            let loss = MinedTripletLoss(margin: Self.margins[distance]!, distance: distance, mining: mining, softMargin: softMargin)
            let gradient = Tensor(shape: embeddings.shape)
            let stats = loss.evaluate(embeddings: embeddings, labels: Self.labels, gradient: gradient)
            let reference = ReferenceMinedTripletLoss.evaluate(embeddings: embeddings.array, labels: Self.labels, dimension: d,
                                                               margin: loss.margin, distance: distance, mining: mining, softMargin: softMargin)
            let what = "\(mining) \(distance) soft=\(softMargin)"
            if !softMargin {
                #expect(reference.activeFraction > 0 && reference.activeFraction < 1, "\(what): uninformative batch")
            }
            #expect(abs(Double(stats.loss) - reference.loss) <= 1e-5 * max(1, reference.loss), "\(what): \(stats.loss) vs \(reference.loss)")
            #expect(stats.triplets == reference.triplets, "\(what)")
            #expect(abs(Double(stats.activeFraction) - reference.activeFraction) < 1e-6, "\(what)")
            #expect(abs(Double(stats.meanPositiveDistance) - reference.meanPositiveDistance) < 1e-5, "\(what)")
            #expect(abs(Double(stats.meanNegativeDistance) - reference.meanNegativeDistance) < 1e-5, "\(what)")
            for index in 0..<gradient.count {
                let expected = reference.gradient[index]
                #expect(abs(Double(gradient[index]) - expected) <= 1e-6 + 1e-4 * abs(expected), "\(what) [\(index)]: \(gradient[index]) vs \(expected)")
            }
        }
    }

    @Test(arguments: MinerKind.batchMiners, Distance.allCases)
    func gradientMatchesFiniteDifferences(mining: MinerKind, distance: Distance) {
        let embeddings = Self.clusteredEmbeddings()
        for softMargin in [false, true] {
            let loss = MinedTripletLoss(margin: Self.margins[distance]!, distance: distance, mining: mining, softMargin: softMargin)
            let gradient = Tensor(shape: embeddings.shape)
            let base = loss.evaluate(embeddings: embeddings, labels: Self.labels, gradient: gradient)
            let analytic = gradient.clone()
            let scratch = Tensor(shape: embeddings.shape)
            let h: Float = 1e-3
            var skipped = 0
            for index in 0..<embeddings.count {
                let saved = embeddings[index]
                embeddings[index] = saved + h
                let plus = loss.evaluate(embeddings: embeddings, labels: Self.labels, gradient: scratch)
                embeddings[index] = saved - h
                let minus = loss.evaluate(embeddings: embeddings, labels: Self.labels, gradient: scratch)
                embeddings[index] = saved
                // The hinge's mean is over the active triplets: where a triplet turns on or off within
                // ±h the loss jumps, and no difference quotient means anything there.
                if !softMargin && (plus.activeFraction != base.activeFraction || minus.activeFraction != base.activeFraction) {
                    skipped += 1
                    continue
                }
                let numeric = (Double(plus.loss) - Double(minus.loss)) / Double(2 * h)
                #expect(abs(numeric - Double(analytic[index])) <= 1e-3 + 1e-2 * abs(numeric),
                        "\(mining) \(distance) soft=\(softMargin) [\(index)]: \(numeric) vs \(analytic[index])")
            }
            #expect(skipped <= embeddings.count / 10, "\(mining) \(distance): \(skipped) of \(embeddings.count) skipped")
        }
    }

    @Test(arguments: Distance.allCases)
    func batchHardOnACollapsedEmbeddingCostsTheMargin(distance: Distance) {
        let labels: [Int32] = [0, 0, 0, 1, 1, 1, 2, 2, 2]
        let embeddings = Tensor(shape: [labels.count, 4])
        for i in 0..<labels.count { for c in 0..<4 { embeddings[i * 4 + c] = Float(c) - 1.5 } }
        let gradient = Tensor(shape: embeddings.shape)
        let stats = MinedTripletLoss(margin: 0.3, distance: distance, mining: .hard)
            .evaluate(embeddings: embeddings, labels: labels, gradient: gradient)
        #expect(abs(stats.loss - 0.3) < 1e-5)
        #expect(stats.activeFraction == 1)
        #expect(stats.triplets == 9)
        #expect(stats.meanPositiveDistance < 1e-5 && stats.meanNegativeDistance < 1e-5)
        // Every direction away from a point is as good as another: no gradient, and no noise from 1/√ε.
        #expect(gradient.array.allSatisfy { abs($0) < 1e-4 }, "\(gradient.array)")
    }

    @Test(arguments: MinerKind.batchMiners, Distance.allCases)
    func repeatedImagesMatchTheReference(mining: MinerKind, distance: Distance) {
        // The P×K sampler repeats images of small classes: identical rows, some of them mined.
        let labels: [Int32] = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
        let embeddings = Self.clusteredEmbeddings(labels: labels, seed: 5)
        let d = embeddings.shape[1]
        for (copy, original) in [(1, 0), (3, 0), (5, 4), (10, 8)] {
            for c in 0..<d { embeddings[copy * d + c] = embeddings[original * d + c] }
        }
        let loss = MinedTripletLoss(margin: Self.margins[distance]!, distance: distance, mining: mining)
        let gradient = Tensor(shape: embeddings.shape)
        let stats = loss.evaluate(embeddings: embeddings, labels: labels, gradient: gradient)
        let reference = ReferenceMinedTripletLoss.evaluate(embeddings: embeddings.array, labels: labels, dimension: d,
                                                           margin: loss.margin, distance: distance, mining: mining, softMargin: false)
        #expect(abs(Double(stats.loss) - reference.loss) <= 1e-5 * max(1, reference.loss))
        for index in 0..<gradient.count {
            #expect(abs(Double(gradient[index]) - reference.gradient[index]) <= 1e-5 + 1e-4 * abs(reference.gradient[index]),
                    "\(mining) \(distance) [\(index)]: \(gradient[index]) vs \(reference.gradient[index])")
        }
    }

    @Test(arguments: MinerKind.batchMiners)
    func keepsNaNInTheLoss(mining: MinerKind) {
        let embeddings = Self.clusteredEmbeddings()
        embeddings[7] = .nan
        for softMargin in [false, true] {
            let gradient = Tensor(shape: embeddings.shape)
            let stats = MinedTripletLoss(margin: 0.5, distance: .l2, mining: mining, softMargin: softMargin)
                .evaluate(embeddings: embeddings, labels: Self.labels, gradient: gradient)
            #expect(stats.loss.isNaN, "\(mining) soft=\(softMargin): \(stats.loss)")
        }
    }

    @Test func aBatchWithoutTripletsCostsNothing() {
        let labels: [Int32] = [0, 1, 2, 3]
        let embeddings = Self.clusteredEmbeddings(labels: labels)
        let gradient = Tensor(shape: embeddings.shape)
        gradient.fill(1)
        for mining in MinerKind.batchMiners {
            let stats = MinedTripletLoss(margin: 0.5, distance: .l2, mining: mining).evaluate(embeddings: embeddings, labels: labels, gradient: gradient)
            #expect(stats.loss == 0 && stats.triplets == 0 && stats.activeFraction == 0 && stats.meanPositiveDistance == 0)
            #expect(stats.meanNegativeDistance > 0)
            #expect(gradient.array.allSatisfy { $0 == 0 })
        }
    }

    @Test(arguments: MinerKind.batchMiners)
    func softMarginStaysFiniteFarFromZero(mining: MinerKind) {
        let embeddings = Self.clusteredEmbeddings(spread: 0.9)
        for i in 0..<embeddings.count { embeddings[i] *= 1000 }  // D_ap − D_an of order ±1000: exp would overflow
        let gradient = Tensor(shape: embeddings.shape)
        let stats = MinedTripletLoss(margin: 0, distance: .l2, mining: mining, softMargin: true)
            .evaluate(embeddings: embeddings, labels: Self.labels, gradient: gradient)
        let reference = ReferenceMinedTripletLoss.evaluate(embeddings: embeddings.array, labels: Self.labels, dimension: embeddings.shape[1],
                                                           margin: 0, distance: .l2, mining: mining, softMargin: true)
        #expect(stats.loss.isFinite && gradient.array.allSatisfy(\.isFinite))
        #expect(abs(Double(stats.loss) - reference.loss) <= 1e-5 * max(1, reference.loss), "\(stats.loss) vs \(reference.loss)")
    }

    /// Two images of class 0 on a line at `positives`, and 300 negatives (each alone in its class)
    /// evenly from `from` to `to`: D_ap − D_an sweeps a range of the soft margin, through batch-all's
    /// polynomial exp and log1p.
    /// `floor` allows for rounding in the gradient entries that cancel, relative to the largest;
    /// in the second layout none cancels and each entry must be right to its own few ulps.
    @Test(arguments: [(positives: [Float](arrayLiteral: 0, 50), from: Float(-40), to: Float(90), floor: Double(1e-6)),
                      (positives: [Float](arrayLiteral: 0, 1), from: Float(20), to: Float(40), floor: Double(0))])
    func softMarginBatchAllIsAccurateOverARange(positives: [Float], from: Float, to: Float, floor: Double) {
        var values = positives, labels: [Int32] = [0, 0]
        for k in 0..<300 {
            values.append(from + Float(k) * (to - from) / 299)
            labels.append(Int32(k + 1))
        }
        let embeddings = Tensor(shape: [values.count, 1], values: values)
        let gradient = Tensor(shape: embeddings.shape)
        let stats = MinedTripletLoss(margin: 0, distance: .l2, mining: .all, softMargin: true)
            .evaluate(embeddings: embeddings, labels: labels, gradient: gradient)
        let reference = ReferenceMinedTripletLoss.evaluate(embeddings: values, labels: labels, dimension: 1, margin: 0,
                                                           distance: .l2, mining: .all, softMargin: true)
        #expect(stats.triplets == 600)
        // In the second layout every loss is below e⁻¹⁹: only a relative accuracy of the tail passes.
        #expect(abs(Double(stats.loss) - reference.loss) <= 1e-5 * reference.loss, "\(stats.loss) vs \(reference.loss)")
        #expect(abs(Double(stats.activeFraction) - reference.activeFraction) < 1e-6)
        let scale = reference.gradient.map(abs).max()!
        for index in 0..<gradient.count {
            let expected = reference.gradient[index]
            #expect(abs(Double(gradient[index]) - expected) <= 2e-5 * abs(expected) + floor * scale, "[\(index)]: \(gradient[index]) vs \(expected)")
        }
    }

    @Test func matchesPytorchMetricLearning() throws {
        let fixture = try Fixture.json("pml_mining.json")
        let b = fixture["batch"] as! Int, d = fixture["dimension"] as! Int
        let labels = Fixture.ints(fixture["labels"]).map(Int32.init)
        let embeddings = Tensor(shape: [b, d], values: Fixture.floats(fixture["embeddings"]))
        let pairs = fixture["pairs"] as! [String: [String: Double]]
        let cases = fixture["cases"] as! [[String: Any]]
        #expect(cases.count == MinerKind.batchMiners.count * Distance.allCases.count * 2)
        for item in cases {
            let mining = MinerKind(rawValue: item["mining"] as! String)!
            let distance = Distance(rawValue: item["distance"] as! String)!
            let softMargin = item["soft_margin"] as! Bool
            let loss = MinedTripletLoss(margin: (item["margin"] as! NSNumber).floatValue, distance: distance, mining: mining, softMargin: softMargin)
            let gradient = Tensor(shape: embeddings.shape)
            let stats = loss.evaluate(embeddings: embeddings, labels: labels, gradient: gradient)
            let what = "\(mining) \(distance) soft=\(softMargin)"
            let expectedLoss = item["loss"] as! Double
            let triplets = item["triplets"] as! Int, active = item["active"] as! Int
            #expect(abs(Double(stats.loss) - expectedLoss) < 1e-5, "\(what): \(stats.loss) vs \(expectedLoss)")
            #expect(stats.triplets == triplets, "\(what)")
            #expect(abs(Double(stats.activeFraction) - Double(active) / Double(triplets)) < 1e-6, "\(what)")
            #expect(abs(Double(stats.meanPositiveDistance) - pairs[distance.rawValue]!["mean_positive_distance"]!) < 1e-5, "\(what)")
            #expect(abs(Double(stats.meanNegativeDistance) - pairs[distance.rawValue]!["mean_negative_distance"]!) < 1e-5, "\(what)")
            let expectedGradient = Fixture.floats(item["gradient"])
            for index in 0..<gradient.count {
                #expect(abs(gradient[index] - expectedGradient[index]) < 1e-5, "\(what) [\(index)]: \(gradient[index]) vs \(expectedGradient[index])")
            }
        }
    }
}
