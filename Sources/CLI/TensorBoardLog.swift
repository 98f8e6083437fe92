import Akin
import Foundation

/// `akin train --logdir`: the step statistics as TensorBoard scalars every few steps, validation
/// scores whenever there are some, and a histogram of each weight tensor every so many steps.
final class TensorBoardLog {
    private let writer: EventFileWriter
    private let scalarsEvery: Int, histogramsEvery: Int
    private var started = false

    init(directory: String, scalarsEvery: Int, histogramsEvery: Int) throws {
        writer = try EventFileWriter(directory: directory)
        self.scalarsEvery = scalarsEvery
        self.histogramsEvery = histogramsEvery
        Console.note("TensorBoard events: \(writer.path) (view with: tensorboard --logdir \(directory))")
    }

    func append(_ step: TrainingStep, parameters: [Parameter]) {
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

    func close() { writer.flush() }
}
