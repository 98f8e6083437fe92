import Foundation
import Similarity

enum ONNXFuzzing {
    static func run(_ data: Data) {
        guard let model = try? EmbeddingModel.importONNX(data, path: "fuzz.onnx") else { return }
        fuzzCheck(model.architecture.problem == nil, "an imported model with an architecture problem: \(model.architecture.problem ?? "")")
    }
}
