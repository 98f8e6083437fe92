import Akin
import ArgumentParser
import Foundation

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bring a network trained elsewhere into Akin.",
        subcommands: [ImportONNX.self])
}

struct ImportONNX: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "onnx",
        abstract: "Read a convolutional network from ONNX into an Akin model file whose pooled features are the embedding.",
        discussion: """
            Reads Conv (grouped, depthwise, strided, dilated, padded), BatchNormalization, Relu, Clip, Sigmoid, Mul, Add, \\
            MaxPool, AveragePool, GlobalAveragePool, Flatten, Reshape, Gemm, Identity and Dropout: the operators of ResNet, \\
            MobileNet and EfficientNet-Lite. The network ends at its pooled features (the last GlobalAveragePool), leaving the \\
            classifier out, unless --output names another value. The model file works with embed, eval, search and report as \\
            it is, with no training.
            """)

    @Argument(help: "The ONNX model (weights inside the file).") var model: String
    @Option(help: "Akin model file to write.") var out: String
    @Option(help: "The ONNX value to end at (default: the pooled features).") var output: String?
    @Option(help: "Image size, for a model whose input size is not fixed (or to run it at another size).") var imageSize: Int?
    @Option(help: "Per-channel mean of the input normalisation, comma-separated (default: the file's, else ImageNet's for RGB).")
    var mean: String?
    @Option(help: "Per-channel standard deviation, comma-separated (default: as --mean).") var std: String?
    @Option(help: "Crop each image to its centred square of this fraction of the shorter side before resizing, as ImageNet evaluation does (0.875); default: the file's, else the whole image.")
    var centerCrop: Float?

    func validate() throws {
        guard (imageSize ?? 1) >= 1 else { throw ValidationError("--image-size must be positive") }
        if let centerCrop, !Preprocessing.isValidCenterCrop(centerCrop) {
            throw ValidationError("--center-crop is the fraction of the shorter side kept, more than 0 and at most 1 (like 0.875), not \(centerCrop)")
        }
        for (flag, text) in [("--mean", mean), ("--std", std)] where text != nil && Self.numbers(text!) == nil {
            throw ValidationError("\(flag) must be comma-separated numbers, not \(text!)")
        }
    }

    static func numbers(_ text: String) -> [Float]? {
        let values = text.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
        return values.isEmpty || values.contains(nil) ? nil : values.compactMap { $0 }
    }

    func run() throws {
        let embedding = try EmbeddingModel.importONNX(path: model, output: output, imageSize: imageSize,
                                                      mean: mean.flatMap(Self.numbers), std: std.flatMap(Self.numbers), centerCrop: centerCrop)
        try embedding.save(to: out)
        guard case let .graph(spec) = embedding.architecture.layers[0] else { return }
        var counts: [String: Int] = [:]
        for node in spec.nodes { counts[node.operation.kindName, default: 0] += 1 }
        let p = embedding.preprocessing
        Console.note("""
            imported \(spec.nodes.count) operations from \(model) (\(counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))): \
            images \(p.channels)×\(p.imageSize)×\(p.imageSize) → \(embedding.embeddingDimension)-d embedding; \
            \(p.centerCrop.map { "centre \($0) of the shorter side, " } ?? "")normalised with mean \(p.mean) and std \(p.std); wrote \(out)
            """)
    }
}
