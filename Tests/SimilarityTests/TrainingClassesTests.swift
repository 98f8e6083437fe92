import Foundation
import Images
import Networks
import Similarity
import Tensors
import Testing

@Suite("Model files record the training classes")
struct TrainingClassesTests {
    private func model(trainingClasses: [String]?) -> EmbeddingModel {
        let architecture = Architecture(name: "tiny", inputChannels: 1, inputSize: 2, layers: [.flatten, .dense(units: 3)])
        return EmbeddingModel(architecture: architecture, preprocessing: Preprocessing(imageSize: 2, channels: 1), distance: .cosine,
                              network: architecture.build(), trainingClasses: trainingClasses)
    }

    @Test func savedAndLoaded() throws {
        let path = temporaryPath("classes.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let names = ["T-shirt-top", "Ankle boot", "\"quoted\"", "Café"]
        try model(trainingClasses: names).save(to: path)
        #expect(try SafeTensorsFile.read(from: path).metadata[EmbeddingModel.trainingClassesKey] != nil)
        #expect(try EmbeddingModel.load(from: path).trainingClasses == names)
    }

    @Test func absentInOlderFiles() throws {
        let path = temporaryPath("no-classes.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model(trainingClasses: nil).save(to: path)
        #expect(try SafeTensorsFile.read(from: path).metadata[EmbeddingModel.trainingClassesKey] == nil)
        #expect(try EmbeddingModel.load(from: path).trainingClasses == nil)
    }
}
