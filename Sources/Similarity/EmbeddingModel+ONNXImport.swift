import Foundation
import Images
import Networks
import Tensors

extension EmbeddingModel {
    /// The normalisation torchvision's and timm's ImageNet networks were trained with (RGB).
    public static let imageNetMean: [Float] = [0.485, 0.456, 0.406]
    public static let imageNetStandardDeviation: [Float] = [0.229, 0.224, 0.225]

    /// A model made of a network read from ONNX (`ONNXImport`): its pooled features, or the value
    /// `output` names, are the embedding, at unit length, with no training. The preprocessing is
    /// `mean`/`std` when given, else the one an Akin-exported file records, else ImageNet's for 3
    /// channels and none (0 and 1) otherwise; likewise the center crop (`Preprocessing.centerCrop`),
    /// none unless given or recorded.
    public static func importONNX(path: String, output: String? = nil, imageSize: Int? = nil,
                                  mean: [Float]? = nil, std: [Float]? = nil, centerCrop: Float? = nil) throws -> EmbeddingModel {
        try model(importing: try ONNXImport.read(path: path, output: output, imageSize: imageSize), path: path,
                  mean: mean, std: std, centerCrop: centerCrop)
    }

    /// `importONNX(path:…)` for an ONNX file's bytes; `path` names it in errors and, when the
    /// graph has no name, in the architecture's.
    public static func importONNX(_ data: Data, path: String, output: String? = nil, imageSize: Int? = nil,
                                  mean: [Float]? = nil, std: [Float]? = nil, centerCrop: Float? = nil) throws -> EmbeddingModel {
        try model(importing: try ONNXImport.read(data, path: path, output: output, imageSize: imageSize), path: path,
                  mean: mean, std: std, centerCrop: centerCrop)
    }

    private static func model(importing imported: ImportedNetwork, path: String,
                              mean: [Float]?, std: [Float]?, centerCrop: Float?) throws -> EmbeddingModel {
        let channels = imported.inputShape[0], size = imported.inputShape[1]
        let architecture = Architecture(name: "onnx " + (imported.name.isEmpty ? URL(fileURLWithPath: path).lastPathComponent : imported.name),
                                        inputChannels: channels, inputSize: size, layers: [.graph(imported.spec)])
        if let problem = architecture.problem { throw ONNXImportError.notAModel(path: path, reason: problem) }

        var preprocessing = Preprocessing(imageSize: size, channels: channels,
                                          mean: channels == 3 ? imageNetMean : nil, std: channels == 3 ? imageNetStandardDeviation : nil)
        if let json = imported.metadata[preprocessingKey],
           let recorded = try? JSONDecoder().decode(Preprocessing.self, from: Data(json.utf8)), recorded.channels == channels {
            preprocessing.mean = recorded.mean
            preprocessing.std = recorded.std
            preprocessing.centerCrop = recorded.centerCrop
        }
        if let mean { preprocessing.mean = mean }
        if let std { preprocessing.std = std }
        if let centerCrop { preprocessing.centerCrop = centerCrop }
        if let crop = preprocessing.centerCrop, !Preprocessing.isValidCenterCrop(crop) {
            throw ONNXImportError.notAModel(path: path, reason: "a center crop of \(crop) is outside (0, 1]: it is the fraction of the shorter side kept, like 0.875")
        }
        guard preprocessing.mean.count == channels, preprocessing.std.count == channels,
              preprocessing.std.allSatisfy({ $0 > 0 && $0.isFinite }), preprocessing.mean.allSatisfy(\.isFinite) else {
            throw ONNXImportError.notAModel(path: path, reason: "the mean \(preprocessing.mean) and std \(preprocessing.std) need \(channels) finite values each, std positive")
        }

        let network = architecture.build()
        for parameter in network.parameters + network.buffers {
            guard let stored = imported.weights[parameter.name], stored.shape == parameter.value.shape else {
                throw ONNXImportError.notAModel(path: path, reason: "no weight of shape \(parameter.value.shape) for \(parameter.name)")
            }
            parameter.value.copy(from: stored)
        }
        return EmbeddingModel(architecture: architecture, preprocessing: preprocessing, distance: .cosine, network: network)
    }
}
