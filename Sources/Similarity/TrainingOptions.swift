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

    /// Options that must not change when a run is resumed (the number of steps may grow).
    func compatibilityKey() -> TrainingOptions {
        var key = self
        key.steps = 0
        key.checkpointEvery = 0
        return key
    }

    func makeOptimizer() -> Optimizer {
        switch optimizer {
        case .sgd: return SGD(learningRate: learningRate, momentum: momentum, nesterov: nesterov)
        case .adam: return Adam(learningRate: learningRate)
        }
    }
}
