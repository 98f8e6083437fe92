import Images
import Networks

public enum OptimizerKind: String, Codable, Sendable, CaseIterable { case sgd, adam }

/// Everything that defines a training run. Defaults are the seed article's recipe.
public struct TrainingOptions: Codable, Equatable, Sendable {
    public var steps = 2000
    public var batch = 512
    public var margin: Float = 0.5
    public var distance: Distance = .l2
    public var optimizer: OptimizerKind = .sgd
    public var learningRate: Float = 0.01
    public var momentum: Float = 0.99
    public var nesterov = true
    public var imageSize = 28
    public var channels = 1
    public var embeddingDimension = 28
    public var checkpointEvery = 50
    public var seed: UInt64 = 0

    public init() {}

    /// Options that must not change when a run is resumed: all but the number of steps, the
    /// checkpoint interval and the learning rate (lowering it is the cure for a diverged run).
    func compatibilityKey() -> TrainingOptions {
        var key = self
        key.steps = 0
        key.checkpointEvery = 0
        key.learningRate = 0
        return key
    }

    /// "margin: 0.5 in the checkpoint, 0.2 now" for each option that differs.
    func differences(from other: TrainingOptions) -> [String] {
        let mine = Mirror(reflecting: compatibilityKey()).children, theirs = Mirror(reflecting: other.compatibilityKey()).children
        return zip(mine, theirs).compactMap { a, b in
            let x = "\(a.value)", y = "\(b.value)"
            return x == y ? nil : "\(a.label ?? "?"): \(y) in the checkpoint, \(x) now"
        }
    }

    func makeOptimizer() -> Optimizer {
        switch optimizer {
        case .sgd: return SGD(learningRate: learningRate, momentum: momentum, nesterov: nesterov)
        case .adam: return Adam(learningRate: learningRate)
        }
    }
}
