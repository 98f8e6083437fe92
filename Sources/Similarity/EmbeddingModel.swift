import Foundation
import Images
import Networks
import Tensors

/// A trained network together with everything needed to use it: its architecture, how images
/// are preprocessed, and the distance it was trained with. One safetensors file holds all of it.
public final class EmbeddingModel {
    public static let preprocessingKey = "akin.preprocessing"
    public static let distanceKey = "akin.distance"
    public static let formatKey = "akin.format"
    public static let trainingClassesKey = "akin.training_classes"
    public static let trainingOptionsKey = "akin.training_options"

    public let architecture: Architecture
    public let preprocessing: Preprocessing
    public let distance: Distance
    public let network: Sequential
    /// The class (folder) names the model was trained on, so evaluation can tell classes it has
    /// seen from new ones; nil when unknown (files written before it was recorded).
    public var trainingClasses: [String]?
    /// The options the model was trained with, as `akin train` or `TrainingRun` resolved them
    /// (nil for an imported model, or a file from before they were recorded).
    public var trainingOptions: TrainingOptions?

    public init(architecture: Architecture, preprocessing: Preprocessing, distance: Distance, network: Sequential,
                trainingClasses: [String]? = nil) {
        self.architecture = architecture
        self.preprocessing = preprocessing
        self.distance = distance
        self.network = network
        self.trainingClasses = trainingClasses
    }

    /// The size of the vectors `embed` returns, read off the network already built (the training
    /// loss sees `outputDimension`).
    public var embeddingDimension: Int { dimension(through: architecture.embeddingDepth(of: network)) }
    /// The size of the last layer's output: what the training loss sees.
    public var outputDimension: Int { dimension(through: network.layers.count) }

    private func dimension(through depth: Int) -> Int {
        network.outputShape(for: [1] + architecture.inputShape, through: depth).dropFirst().reduce(1, *)
    }
    public var fingerprint: String { NetworkFile.fingerprint(of: network, architecture: architecture) }

    public func fileContents(extraMetadata: [String: String] = [:]) throws -> SafeTensorsFile {
        var metadata = extraMetadata
        metadata[Self.preprocessingKey] = String(decoding: try JSONEncoder.sorted.encode(preprocessing), as: UTF8.self)
        metadata[Self.distanceKey] = distance.rawValue
        metadata[Self.formatKey] = "akin-model-1"
        if let trainingClasses {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes]
            metadata[Self.trainingClassesKey] = String(decoding: try encoder.encode(trainingClasses), as: UTF8.self)
        }
        if let trainingOptions {
            metadata[Self.trainingOptionsKey] = String(decoding: try JSONEncoder.sorted.encode(trainingOptions), as: UTF8.self)
        }
        return try NetworkFile.contents(of: network, architecture: architecture, metadata: metadata)
    }

    public func save(to path: String) throws { try fileContents().write(to: path) }

    public static func load(from path: String) throws -> EmbeddingModel {
        try load(file: try SafeTensorsFile.read(from: path), path: path)
    }

    /// A model from a model file's bytes; `path` names it in errors.
    public static func decode(_ data: Data, path: String) throws -> EmbeddingModel {
        try load(file: try SafeTensorsFile.decode(data, path: path), path: path)
    }

    static func load(file: SafeTensorsFile, path: String) throws -> EmbeddingModel {
        let architecture = try NetworkFile.architecture(in: file, path: path)
        guard let json = file.metadata[preprocessingKey],
              let preprocessing = try? JSONDecoder().decode(Preprocessing.self, from: Data(json.utf8)) else {
            throw NetworkFileError.notAModel(path: path, reason: "its metadata has no readable \(preprocessingKey)")
        }
        guard let distance = file.metadata[distanceKey].flatMap(Distance.init(rawValue:)) else {
            throw NetworkFileError.notAModel(path: path, reason: "its metadata has no readable \(distanceKey)")
        }
        let c = architecture.inputChannels
        guard preprocessing.channels == c, preprocessing.imageSize == architecture.inputSize,
              preprocessing.mean.count == c, preprocessing.std.count == c,
              preprocessing.std.allSatisfy({ $0 > 0 && $0.isFinite }), preprocessing.mean.allSatisfy(\.isFinite),
              preprocessing.centerCrop.map(Preprocessing.isValidCenterCrop) ?? true else {
            throw NetworkFileError.notAModel(path: path, reason: "its \(preprocessingKey) (\(json)) does not fit a \(c)-channel \(architecture.inputSize)×\(architecture.inputSize) input, or has a std that is not positive or a center crop outside (0, 1]")
        }
        var trainingClasses: [String]?
        if let json = file.metadata[trainingClassesKey] {
            guard let classes = try? JSONDecoder().decode([String].self, from: Data(json.utf8)) else {
                throw NetworkFileError.notAModel(path: path, reason: "its \(trainingClassesKey) (\(json)) is not a JSON array of class names")
            }
            trainingClasses = classes
        }
        let network = architecture.build()
        try NetworkFile.loadWeights(from: file, into: network, path: path)
        let model = EmbeddingModel(architecture: architecture, preprocessing: preprocessing, distance: distance, network: network,
                                   trainingClasses: trainingClasses)
        // A record for people, not needed to embed: options a later version wrote differently are left out.
        model.trainingOptions = file.metadata[trainingOptionsKey].flatMap { try? JSONDecoder().decode(TrainingOptions.self, from: Data($0.utf8)) }
        return model
    }

    /// The memory a batch's activations may take while embedding: large networks on large images
    /// (an ImageNet backbone at 224 pixels keeps tens of megabytes per image) get smaller batches.
    public static let activationBudgetBytes = 1 << 30

    /// At most `requested`, fewer when the network's activations for that many images would pass
    /// `activationBudgetBytes`.
    public func batchSize(requested: Int) -> Int {
        let perImage = network.activationCount(for: [1] + architecture.inputShape, through: architecture.embeddingDepth(of: network))
        return max(1, min(requested, Self.activationBudgetBytes / max(1, perImage * MemoryLayout<Float>.size)))
    }

    /// L2-normalised embeddings of every image, [images.count, D]. Batches are padded to one
    /// shape so the convolution primitives are built once, and kept within `activationBudgetBytes`.
    public func embed(_ images: ImageSet, batchSize: Int = 256, progress: (Int, Int) -> Void = { _, _ in }) throws -> Tensor {
        guard images.imageSize == preprocessing.imageSize && images.channels == preprocessing.channels else {
            throw EmbeddingError.imagesForAnotherModel(size: images.imageSize, channels: images.channels,
                                                       needed: preprocessing.imageSize, neededChannels: preprocessing.channels)
        }
        let d = embeddingDimension, n = images.count, depth = architecture.embeddingDepth(of: network)
        let result = Tensor(shape: [n, d])
        let size = min(self.batchSize(requested: batchSize), max(n, 1))
        let batch = Tensor(shape: [size] + architecture.inputShape)
        network.isTraining = false
        defer { network.isTraining = true }
        var start = 0
        while start < n {
            let end = min(n, start + size)
            images.fill(batch.pointer, indices: start..<end, preprocessing: preprocessing)
            let output = try network.forward(batch, through: depth)
            RowNormalization.normalize(output.pointer, into: result.pointer + start * d, rows: end - start, columns: d)
            start = end
            progress(start, n)
        }
        return result
    }
}
