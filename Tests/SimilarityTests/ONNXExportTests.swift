import Foundation
import Images
import Networks
import Similarity
import Tensors
import TestSupport
import Testing

/// Fashion-MNIST's test images (Debian's dataset-fashion-mnist), real pictures for the exported
/// models to embed. RGB images put three different pictures in the three channels, so a model
/// that mixed up channel order would not pass.
private enum FashionMNIST {
    static let images = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
    static var installed: Bool { FileManager.default.fileExists(atPath: images) }

    static func imageSet(count: Int, channels: Int) throws -> ImageSet {
        let idx = try IDXArray.read(images)
        let plane = 28 * 28
        var pixels: [UInt8] = []
        for i in 0..<count { for c in 0..<channels {
            let source = (i + c * count) * plane
            pixels += idx.bytes[source..<(source + plane)]
        } }
        return ImageSet(imageSize: 28, channels: channels, classNames: ["any"], paths: (0..<count).map { "\($0).png" },
                        labels: [Int32](repeating: 0, count: count), pixels: pixels)
    }
}

@Suite("ONNX export, checked by onnx and onnxruntime")
struct ONNXExportTests {
    static let python = ReferencePython.path(importing: ["onnx", "onnxruntime", "numpy"])
    static let enabled = ConditionTrait.enabled(if: (python != nil && FashionMNIST.installed) || ReferencePython.underCI,
                                                "needs a Python with onnx and onnxruntime and Debian's dataset-fashion-mnist")

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var architecture: Architecture
        var mean: [Float]
        var std: [Float]
        var zeroHead = false
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "seed, gray", architecture: .seed(channels: 1), mean: [0.286], std: [0.353]),
        Case(name: "seed, RGB", architecture: .seed(channels: 3, embeddingDimension: 12), mean: [0.2, 0.3, 0.4], std: [0.5, 0.25, 0.3]),
        Case(name: "ResNet, gray, three stages", architecture: .residual(channels: 1, widths: [8, 16, 24], blocks: [1, 2, 1], embeddingDimension: 16),
             mean: [0.5], std: [0.5]),
        Case(name: "ResNet, RGB, odd widths, pooled features", architecture: {
            var a = Architecture.residual(channels: 3, widths: [5, 12], blocks: [1, 1], embeddingDimension: 8)
            a.embeddingSource = .features
            return a
        }(), mean: [0.1, 0.2, 0.3], std: [0.9, 0.8, 0.7]),
        Case(name: "ResNet without its unit-length layer", architecture: .residual(channels: 1, widths: [8, 8], blocks: [1, 1],
                                                                                   embeddingDimension: 6, normalize: false),
             mean: [0], std: [1]),
        Case(name: "ResNet whose head outputs zero", architecture: .residual(channels: 1, widths: [8], blocks: [1], embeddingDimension: 4),
             mean: [0], std: [1], zeroHead: true),
    ]

    /// A model whose every weight, batch-norm scale, shift and running statistic is random (a
    /// trained network's statistics are not 0 and 1, and an export that mixed them up must fail).
    static func randomModel(_ c: Case) -> EmbeddingModel {
        let network = c.architecture.build()
        var generator = RandomGenerator(seed: 7)
        Initialization.kaimingNormal(network, using: &generator)
        func uniform(_ tensor: Tensor, _ low: Float, _ high: Float) {
            for i in 0..<tensor.count { tensor.pointer[i] = low + (high - low) * generator.nextFloat() }
        }
        for p in network.parameters + network.buffers where p.value.shape.count == 1 {
            switch p.name {
            case let n where n.hasSuffix("running_var"): uniform(p.value, 0.5, 2)
            case let n where n.hasSuffix("norm.weight"): uniform(p.value, 0.5, 1.5)
            default: uniform(p.value, -0.3, 0.3)
            }
        }
        if c.zeroHead, let head = network.layers.last(where: { $0 is Dense }) {
            for p in head.parameters { p.value.fill(0) }
        }
        let preprocessing = Preprocessing(imageSize: c.architecture.inputSize, channels: c.architecture.inputChannels, mean: c.mean, std: c.std)
        return EmbeddingModel(architecture: c.architecture, preprocessing: preprocessing, distance: .l2, network: network)
    }

    @Test(enabled, arguments: cases)
    func onnxRuntimeGivesAkinsEmbeddings(_ c: Case) throws {
        let python = try #require(Self.python, "CI must install onnx and onnxruntime into ~/.cache/akin-test/venv")
        let model = Self.randomModel(c)
        let images = try FashionMNIST.imageSet(count: 24, channels: c.architecture.inputChannels)
        let expected = try model.embed(images, batchSize: 10)

        let folder = temporaryPath("onnx")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try model.writeONNX(to: folder + "/model.onnx")
        try NpyFile.write(Tensor(shape: [images.count] + c.architecture.inputShape, values: images.pixels.map(Float.init)),
                          to: folder + "/pixels.npy")
        try NpyFile.write(expected, to: folder + "/expected.npy")

        let script = ReferencePython.repositoryFile("scripts/check_onnx.py")
        let run = try ReferencePython.run(python, [script, folder + "/model.onnx", folder + "/pixels.npy", folder + "/expected.npy"])
        try #require(run.status == 0, "check_onnx.py failed: \(run.errors)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any], "\(run.output)")
        let difference = try #require(report["max_abs_diff"] as? Double, "onnxruntime's output is not finite: \(run.output)")
        #expect(difference <= 1e-4, "onnxruntime differs from Akin by \(difference)")
        #expect(report["finite"] as? Bool == true)
        #expect(report["shape"] as? [Int] == [images.count, model.embeddingDimension])
        #expect(report["opset"] as? [Int] == [17])
        let operators = report["operators"] as? [String] ?? []
        #expect(operators.contains("ReduceL2") && !operators.contains("LpNormalization"))
        let metadata = report["metadata"] as? [String] ?? []
        #expect(["input_size", "input_channels", "input_scale", "mean", "std", "akin.architecture", "akin.preprocessing"]
            .allSatisfy(metadata.contains))
        if c.zeroHead {
            #expect(expected.buffer.allSatisfy { $0 == 0 }, "a zero head gives zero embeddings in Akin too")
        }
    }

    @Test func aModelWithoutAWeightIsRefusedByName() throws {
        let architecture = Architecture.seed(channels: 1)
        #expect {
            _ = try ONNXExport.model(architecture: architecture, weights: [:], metadata: [:])
        } throws: { error in
            "\(error)".contains("no weight layers.0.weight")
        }
    }
}
