import Foundation
import Images
import Networks
import Tensors

public enum CheckpointError: Error, CustomStringConvertible {
    case missing(String)
    case incompatible(path: String, reason: String)

    public var description: String {
        switch self {
        case let .missing(path): return "no checkpoint at \(path) to resume from; start without --resume"
        case let .incompatible(path, reason): return "cannot resume from \(path): \(reason). Resume with the same data and options, or start without --resume."
        }
    }
}

/// A training run's whole state after some step: the model, the optimizer's buffers, the random
/// generator and the options, so a resumed run continues exactly as if never stopped.
struct Checkpoint {
    static let stepKey = "akin.checkpoint.step"
    static let generatorKey = "akin.checkpoint.generator"
    static let optionsKey = "akin.checkpoint.options"
    static let datasetKey = "akin.checkpoint.dataset"
    static let optimizerPrefix = "optimizer."
    static let validationKey = "akin.checkpoint.validation"
    static let processesKey = "akin.checkpoint.processes"

    var model: EmbeddingModel
    var optimizer: Optimizer
    var generator: RandomGenerator
    var step: Int
    var options: TrainingOptions
    var datasetIdentity: String
    /// The best validation so far and how many validations since it, so early stopping and
    /// "keep the best" carry over a resume.
    var bestValidation: ValidationResult?
    /// Trained tensors that belong to the loss, not the model (class proxies), by name.
    var lossParameters: [String: Tensor] = [:]
    var validationsWithoutImprovement = 0
    /// Validation stopped improving for `--patience` validations: the run is over, not unfinished.
    var stoppedEarly = false
    /// How many data-parallel processes trained it (1: one process, no mpirun).
    var processes = 1

    func write(to path: String) throws {
        var file = try model.fileContents(extraMetadata: [
            Self.stepKey: String(step),
            Self.generatorKey: generator.state.map { String($0, radix: 16) }.joined(separator: ","),
            Self.optionsKey: String(decoding: try JSONEncoder.sorted.encode(options), as: UTF8.self),
            Self.datasetKey: datasetIdentity,
            Self.processesKey: String(processes),
            Self.validationKey: String(decoding: try JSONEncoder.sorted.encode(ValidationProgress(best: bestValidation, withoutImprovement: validationsWithoutImprovement, stoppedEarly: stoppedEarly)), as: UTF8.self),
        ])
        for (name, tensor) in optimizer.stateTensors() { file.tensors[Self.optimizerPrefix + name] = tensor }
        for (name, tensor) in lossParameters { file.tensors[name] = tensor }
        try file.write(to: path)
    }

    static func read(from path: String) throws -> Checkpoint {
        guard FileManager.default.fileExists(atPath: path) else { throw CheckpointError.missing(path) }
        let file = try SafeTensorsFile.read(from: path)
        let model = try EmbeddingModel.load(file: file, path: path)
        guard file.metadata[stepKey] != nil else {
            throw CheckpointError.incompatible(path: path, reason: "it is a model, not a training checkpoint (no \(stepKey))")
        }
        func field<T>(_ key: String, _ parse: (String) -> T?) throws -> T {
            guard let text = file.metadata[key], let value = parse(text) else {
                throw CheckpointError.incompatible(path: path, reason: "its \(key) is missing or unreadable (written by another version?)")
            }
            return value
        }
        let step = try field(stepKey) { Int($0) }
        let words = try field(generatorKey) { text -> [UInt64]? in
            let words = text.split(separator: ",").compactMap { UInt64($0, radix: 16) }
            // All zero is the one state the generator cannot leave: refused as unreadable.
            return words.count == 4 && words.contains { $0 != 0 } ? words : nil
        }
        let options = try field(optionsKey) { try? JSONDecoder().decode(TrainingOptions.self, from: Data($0.utf8)) }
        let dataset = try field(datasetKey) { $0 }
        // Checkpoints from before data-parallel training were all written by one process.
        let processes = file.metadata[processesKey] == nil ? 1 : try field(processesKey) { Int($0).flatMap { $0 >= 1 ? $0 : nil } }
        let optimizer = options.makeOptimizer()
        var state: [String: Tensor] = [:]
        for (name, tensor) in file.tensors where name.hasPrefix(optimizerPrefix) {
            state[String(name.dropFirst(optimizerPrefix.count))] = tensor
        }
        try optimizer.restore(stateTensors: state, stepCount: step)
        let lossParameters = file.tensors.filter { $0.key.hasPrefix("loss.") }
        let progress = file.metadata[validationKey].flatMap { try? JSONDecoder().decode(ValidationProgress.self, from: Data($0.utf8)) }
        return Checkpoint(model: model, optimizer: optimizer, generator: RandomGenerator(state: words), step: step,
                          options: options, datasetIdentity: dataset, bestValidation: progress?.best,
                          lossParameters: lossParameters, validationsWithoutImprovement: progress?.withoutImprovement ?? 0,
                          stoppedEarly: progress?.stoppedEarly ?? false, processes: processes)
    }
}

private struct ValidationProgress: Codable {
    var best: ValidationResult?
    var withoutImprovement: Int
    var stoppedEarly: Bool?
}

extension Trainer {
    /// The step and planned length of the run whose checkpoint is at `path`, when that run did
    /// not finish; nil when there is no checkpoint or its run completed.
    public static func unfinishedRun(at path: String) -> (step: Int, steps: Int)? {
        guard FileManager.default.fileExists(atPath: path), let state = try? Checkpoint.read(from: path),
              state.step < state.options.steps, !state.stoppedEarly else { return nil }
        return (state.step, state.options.steps)
    }
}
