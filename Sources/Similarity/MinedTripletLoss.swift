import Foundation
import Tensors

/// The triplet loss over triplets mined inside one batch of B embeddings with class labels (a P×K
/// batch from `PKSampler`), from the batch's B×B distance matrix. See `MinerKind` for which
/// triplets each mining takes and how the loss averages them.
///
/// Hinge: max(0, D_ap − D_an + margin). Soft margin (Hermans et al.): softplus(D_ap − D_an) =
/// log(1 + exp(D_ap − D_an)), the margin unused; it equals pytorch-metric-learning's
/// `smooth_loss=True` with margin 0.
public struct MinedTripletLoss: Sendable {
    public var margin: Float
    public var distance: Distance
    public var mining: MinerKind
    public var softMargin: Bool

    /// `mining` is one of `MinerKind.batchMiners`: the random miner draws its triplets itself.
    public init(margin: Float, distance: Distance, mining: MinerKind, softMargin: Bool = false) {
        precondition(mining.minesBatches, "MinedTripletLoss mines P×K batches; the random miner's triplets come from TripletSampler")
        self.margin = margin
        self.distance = distance
        self.mining = mining
        self.softMargin = softMargin
    }

    /// Returns the statistics and overwrites `gradient` ([B, D]) with ∂loss/∂embeddings.
    ///
    /// `triplets` counts the mined triplets; `activeFraction` is the share of them with a non-zero
    /// hinge loss, or with a soft margin the share with D_an < D_ap (those still ranked wrongly).
    /// The mean distances are over all positive and all negative pairs of the batch, mined or not,
    /// so a collapsed embedding shows as both near 0. A NaN distance makes the loss NaN.
    public func evaluate(embeddings: Tensor, labels: [Int32], gradient: Tensor) -> TripletStatistics {
        precondition(embeddings.shape.count == 2, "embeddings must be [B, D], got \(embeddings.shape)")
        precondition(gradient.shape == embeddings.shape, "gradient \(gradient.shape) must match embeddings \(embeddings.shape)")
        let b = embeddings.shape[0]
        precondition(labels.count == b, "\(labels.count) labels for \(b) embeddings")
        let distances = PairwiseDistances(distance, embeddings: embeddings)
        // ∂(sum of the mined losses)/∂D; divided by the reducer's count once it is known.
        var upstream = [Float](repeating: 0, count: b * b)
        var tally = Tally()
        let scratch = Scratch(count: b)
        distances.values.withUnsafeBufferPointer { v in
            upstream.withUnsafeMutableBufferPointer { g in
                labels.withUnsafeBufferPointer { l in
                    for a in 0..<b {
                        let row = UnsafeBufferPointer(rebasing: v[(a * b)..<(a * b + b)])
                        let grow = UnsafeMutableBufferPointer(rebasing: g[(a * b)..<(a * b + b)])
                        scratch.split(anchor: a, labels: l, row: row, tally: &tally)
                        guard scratch.positiveCount > 0, scratch.negativeCount > 0 else { continue }
                        switch mining {
                        case .all: mineAll(row: row, gradient: grow, scratch: scratch, tally: &tally)
                        case .hard: mineHard(row: row, gradient: grow, scratch: scratch, tally: &tally)
                        case .semiHard: mineSemiHard(row: row, gradient: grow, scratch: scratch, tally: &tally)
                        case .random: preconditionFailure("refused by init")
                        }
                    }
                }
            }
        }
        let reducedCount = softMargin ? tally.triplets : tally.active
        var loss = reducedCount > 0 ? Float(tally.total / Double(reducedCount)) : 0
        // A NaN would fail every comparison and vanish from the mined losses; keep it so divergence is seen.
        if tally.positiveSum.isNaN || tally.negativeSum.isNaN || tally.total.isNaN { loss = .nan }
        if reducedCount > 0 {
            let scale = 1 / Float(reducedCount)
            for i in upstream.indices { upstream[i] *= scale }
            distances.backward(upstream: upstream, embeddings: embeddings, gradient: gradient)
        } else {
            gradient.fill(0)
        }
        return TripletStatistics(
            loss: loss,
            activeFraction: tally.triplets > 0 ? Float(Double(tally.active) / Double(tally.triplets)) : 0,
            meanPositiveDistance: tally.positivePairs > 0 ? Float(tally.positiveSum / Double(tally.positivePairs)) : 0,
            meanNegativeDistance: tally.negativePairs > 0 ? Float(tally.negativeSum / Double(tally.negativePairs)) : 0,
            triplets: tally.triplets)
    }

    /// Every (p, n) of the anchor: a loop over the anchor's negatives, gathered contiguously, per positive.
    private func mineAll(row: UnsafeBufferPointer<Float>, gradient g: UnsafeMutableBufferPointer<Float>,
                         scratch: Scratch, tally: inout Tally) {
        let nc = scratch.negativeCount
        let distances = scratch.negativeDistances, weights = scratch.negativeWeights
        for k in 0..<nc {
            distances[k] = row[scratch.negatives[k]]
            weights[k] = 0
        }
        var total: Double = 0, active = 0
        for q in 0..<scratch.positiveCount {
            let p = scratch.positives[q]
            let sums = softMargin
                ? MiningKernels.softMargin(positiveDistance: row[p], negatives: distances, weights: weights, count: nc)
                : MiningKernels.hinge(positiveDistance: row[p], margin: margin, negatives: distances, weights: weights, count: nc)
            total += Double(sums.loss)
            active += sums.active
            g[p] += sums.slope
        }
        for k in 0..<nc { g[scratch.negatives[k]] -= weights[k] }
        tally.total += total
        tally.active += active
        tally.triplets += scratch.positiveCount * nc
    }

    private func mineHard(row: UnsafeBufferPointer<Float>, gradient g: UnsafeMutableBufferPointer<Float>,
                          scratch: Scratch, tally: inout Tally) {
        var positive = scratch.positives[0]
        for q in 1..<scratch.positiveCount where row[scratch.positives[q]] > row[positive] { positive = scratch.positives[q] }
        let negative = scratch.nearestNegative(row: row)
        add(positive: positive, negative: negative, row: row, gradient: g, tally: &tally)
    }

    private func mineSemiHard(row: UnsafeBufferPointer<Float>, gradient g: UnsafeMutableBufferPointer<Float>,
                              scratch: Scratch, tally: inout Tally) {
        let nearest = scratch.nearestNegative(row: row)
        let distances = scratch.negativeDistances
        for k in 0..<scratch.negativeCount { distances[k] = row[scratch.negatives[k]] }
        for q in 0..<scratch.positiveCount {
            let p = scratch.positives[q]
            let dap = row[p]
            let farther = MiningKernels.nearestFarther(than: dap, negatives: distances, count: scratch.negativeCount)
            add(positive: p, negative: farther.map { scratch.negatives[$0] } ?? nearest, row: row, gradient: g, tally: &tally)
        }
    }

    /// One mined triplet of the anchor whose distance row and upstream row these are.
    @inline(__always)
    private func add(positive p: Int, negative n: Int, row: UnsafeBufferPointer<Float>,
                     gradient g: UnsafeMutableBufferPointer<Float>, tally: inout Tally) {
        tally.triplets += 1
        let difference = row[p] - row[n]
        let loss: Float, slope: Float
        if softMargin {
            (loss, slope) = Self.softplus(difference)
            if difference > 0 { tally.active += 1 }
        } else {
            let violation = difference + margin
            guard violation > 0 else { return }
            (loss, slope) = (violation, 1)
            tally.active += 1
        }
        tally.total += Double(loss)
        g[p] += slope
        g[n] -= slope
    }

    /// softplus(x) = log(1 + eˣ) and its slope σ(x), from one exp of −|x| so neither overflows.
    @inline(__always)
    private static func softplus(_ x: Float) -> (value: Float, slope: Float) {
        let e = exp(-abs(x))
        let value = max(x, 0) + log1p(e)
        let slope = x >= 0 ? 1 / (1 + e) : e / (1 + e)
        return (value, slope)
    }

    /// Running sums over the anchors.
    private struct Tally {
        var total: Double = 0
        var active = 0
        var triplets = 0
        var positiveSum: Double = 0, positivePairs = 0
        var negativeSum: Double = 0, negativePairs = 0
    }

    /// Buffers for one anchor at a time, allocated once per batch.
    private final class Scratch {
        let positives: UnsafeMutablePointer<Int>, negatives: UnsafeMutablePointer<Int>
        var positiveCount = 0, negativeCount = 0
        let negativeDistances: UnsafeMutablePointer<Float>, negativeWeights: UnsafeMutablePointer<Float>

        init(count: Int) {
            positives = .allocate(capacity: max(count, 1))
            negatives = .allocate(capacity: max(count, 1))
            negativeDistances = .allocate(capacity: max(count, 1))
            negativeWeights = .allocate(capacity: max(count, 1))
        }

        deinit {
            positives.deallocate()
            negatives.deallocate()
            negativeDistances.deallocate()
            negativeWeights.deallocate()
        }

        /// Sorts the other rows into the anchor's positives and negatives, and adds their distances to the pair means.
        func split(anchor a: Int, labels: UnsafeBufferPointer<Int32>, row: UnsafeBufferPointer<Float>, tally: inout Tally) {
            positiveCount = 0
            negativeCount = 0
            var positiveSum: Double = 0, negativeSum: Double = 0
            for j in 0..<labels.count where j != a {
                if labels[j] == labels[a] {
                    positives[positiveCount] = j
                    positiveCount += 1
                    positiveSum += Double(row[j])
                } else {
                    negatives[negativeCount] = j
                    negativeCount += 1
                    negativeSum += Double(row[j])
                }
            }
            tally.positiveSum += positiveSum
            tally.positivePairs += positiveCount
            tally.negativeSum += negativeSum
            tally.negativePairs += negativeCount
        }

        func nearestNegative(row: UnsafeBufferPointer<Float>) -> Int {
            var nearest = negatives[0]
            for k in 1..<negativeCount where row[negatives[k]] < row[nearest] { nearest = negatives[k] }
            return nearest
        }
    }
}
