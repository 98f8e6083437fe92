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

    var model: EmbeddingModel
    var optimizer: Optimizer
    var generator: RandomGenerator
    var step: Int
    var options: TrainingOptions
    var datasetIdentity: String

    func write(to path: String) throws {
        var file = try model.fileContents(extraMetadata: [
            Self.stepKey: String(step),
            Self.generatorKey: generator.state.map { String($0, radix: 16) }.joined(separator: ","),
            Self.optionsKey: String(decoding: try JSONEncoder.sorted.encode(options), as: UTF8.self),
            Self.datasetKey: datasetIdentity,
        ])
        for (name, tensor) in optimizer.stateTensors() { file.tensors[Self.optimizerPrefix + name] = tensor }
        try file.write(to: path)
    }

    static func read(from path: String) throws -> Checkpoint {
        guard FileManager.default.fileExists(atPath: path) else { throw CheckpointError.missing(path) }
        let file = try SafeTensorsFile.read(from: path)
        let model = try EmbeddingModel.load(file: file, path: path)
        guard let step = file.metadata[stepKey].flatMap(Int.init),
              let words = file.metadata[generatorKey]?.split(separator: ",").compactMap({ UInt64($0, radix: 16) }), words.count == 4,
              let optionsJSON = file.metadata[optionsKey],
              let options = try? JSONDecoder().decode(TrainingOptions.self, from: Data(optionsJSON.utf8)),
              let dataset = file.metadata[datasetKey]
        else { throw CheckpointError.incompatible(path: path, reason: "it is a model, not a training checkpoint") }
        let optimizer = options.makeOptimizer()
        var state: [String: Tensor] = [:]
        for (name, tensor) in file.tensors where name.hasPrefix(optimizerPrefix) {
            state[String(name.dropFirst(optimizerPrefix.count))] = tensor
        }
        try optimizer.restore(stateTensors: state, stepCount: step)
        return Checkpoint(model: model, optimizer: optimizer, generator: RandomGenerator(state: words), step: step,
                          options: options, datasetIdentity: dataset)
    }
}
