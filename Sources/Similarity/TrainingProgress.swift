import Foundation

public enum TrainingError: Error, CustomStringConvertible {
    case diverged(step: Int, loss: Float, lastCheckpoint: Int?, checkpointPath: String?)
    case noCheckpointToResume
    case backboneMissing(path: String)
    case backboneUnfit(path: String, reason: String)

    public var description: String {
        switch self {
        case let .diverged(step, loss, last, path):
            let kept = path == nil ? "the run writes no checkpoint"
                : last.map { "the last good checkpoint (step \($0)) is kept at \(path!)" } ?? "no checkpoint had been written yet"
            let what = loss.isFinite ? "the loss became \(loss)" : loss.isNaN ? "the loss became NaN" : "the loss or the weights became infinite"
            return "training stopped at step \(step): \(what); \(kept). Lower --lr (or --momentum) and train again, or resume with a lower --lr."
        case let .backboneMissing(path):
            return "the run fine-tunes the pretrained model \(path), but it was not given or its weights changed since the run began: pass the same --init-from file"
        case let .backboneUnfit(path, reason):
            return "cannot put a head on \(path): \(reason)"
        case .noCheckpointToResume:
            return "a run without a checkpoint file cannot be resumed: give the Trainer a checkpointPath"
        }
    }
}

/// One finished step, for progress bars and logs.
public struct TrainingStep: Sendable {
    public var step: Int
    public var totalSteps: Int
    public var statistics: TripletStatistics
    public var learningRate: Float
    public var seconds: Double
    /// Images the network saw in this step.
    public var images: Int
    /// Every embedding is (nearly) at one point: the loss sits at the margin and nothing learns.
    public var collapsed: Bool
    /// Set on the steps where validation ran.
    public var validation: ValidationResult?
}

/// Retrieval quality on held-out images at one step.
public struct ValidationResult: Sendable, Codable, Equatable {
    public var step: Int
    public var precisionAt1: Double
    public var mapAtR: Double
    /// Whether this is the best MAP@R so far (the model file was just rewritten with it).
    public var improved: Bool

    public init(step: Int, precisionAt1: Double, mapAtR: Double, improved: Bool = false) {
        self.step = step
        self.precisionAt1 = precisionAt1
        self.mapAtR = mapAtR
        self.improved = improved
    }
}

/// Scores a model on held-out images every `every` steps; training stops after `patience` scores
/// without improvement when set, and `Trainer.run` returns the best model by MAP@R.
public struct Validation {
    public var every: Int
    public var patience: Int?
    /// Where each new best model is written as soon as it is found (a crash keeps it); nil keeps it in memory only.
    public var bestModelPath: String?
    public var score: (EmbeddingModel) throws -> (precisionAt1: Double, mapAtR: Double)

    public init(every: Int, patience: Int?, bestModelPath: String?, score: @escaping (EmbeddingModel) throws -> (precisionAt1: Double, mapAtR: Double)) {
        self.every = every
        self.patience = patience
        self.bestModelPath = bestModelPath
        self.score = score
    }
}
