import Foundation

/// A training run's TensorBoard event file (`akin train --logdir`): the step statistics as scalars
/// every few steps, validation scores whenever there are some, and a histogram of each weight tensor
/// every so many steps. Pass it each `TrainingStep` from `Trainer.run`'s `onStep`.
public final class TensorBoardLog {
    private let writer: EventFileWriter
    private let scalarsEvery: Int, histogramsEvery: Int
    private var started = false

    /// The event file written.
    public var path: String { writer.path }

    /// Starts a new event file in `directory` (created if needed).
    /// - Parameters:
    ///   - directory: the folder `tensorboard --logdir` is pointed at.
    ///   - scalarsEvery: steps between scalars (the first and last steps always have them); positive.
    ///   - histogramsEvery: steps between weight histograms (the last step always has them); positive.
    public init(directory: String, scalarsEvery: Int, histogramsEvery: Int) throws {
        writer = try EventFileWriter(directory: directory)
        self.scalarsEvery = max(1, scalarsEvery)
        self.histogramsEvery = max(1, histogramsEvery)
    }

    /// Logs one step; `parameters` are the network's (`Trainer.trainingNetwork`), for the histograms.
    public func append(_ step: TrainingStep, parameters: [Parameter]) {
        if !started {
            // A resumed run repeats the steps after its checkpoint; the START at its first step makes
            // TensorBoard drop what the interrupted run logged from there on (and, after --overwrite,
            // everything an earlier run left in the folder).
            writer.sessionStart(step: step.step)
            started = true
        }
        let last = step.step == step.totalSteps
        if step.step % scalarsEvery == 0 || step.step == 1 || last {
            let s = step.statistics
            writer.scalars([("loss", s.loss), ("active_fraction", s.activeFraction), ("mean_positive_distance", s.meanPositiveDistance),
                            ("mean_negative_distance", s.meanNegativeDistance), ("learning_rate", step.learningRate)], step: step.step)
        }
        if let v = step.validation {
            writer.scalars([("validation/precision_at_1", Float(v.precisionAt1)), ("validation/map_at_r", Float(v.mapAtR))], step: step.step)
        }
        if step.step % histogramsEvery == 0 || last {
            for parameter in parameters {
                writer.histogram("weights/" + parameter.name, Histogram(UnsafeBufferPointer(parameter.value.buffer)), step: step.step)
            }
        }
    }

    /// Flushes the file to disk.
    public func close() { writer.flush() }
}
