import Foundation
import Similarity

enum ModelFuzzing {
    static func run(_ data: Data) {
        guard let model = try? EmbeddingModel.decode(data, path: "fuzz.safetensors") else { return }
        fuzzCheck(model.architecture.problem == nil, "a model loaded with an architecture problem: \(model.architecture.problem ?? "")")
        fuzzCheck(model.preprocessing.channels == model.architecture.inputChannels, "preprocessing and architecture disagree on channels")
    }
}
