import Akin
import ArgumentParser
import Foundation

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export embeddings or the model for other tools.",
        subcommands: [ExportProjector.self, ExportONNX.self, ExportPyTorch.self])
}

struct ExportONNX: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "onnx",
        abstract: "Write the embedding network as an ONNX model (opset 17) for onnxruntime and other runtimes.",
        discussion: """
            Input "images": float32 [batch, C, S, S], each value (pixel / 255 − mean) / std per channel; output \
            "embedding": [batch, D], unit length, the vectors `akin embed` stores. Size, channels, mean and std are in \
            the model's metadata_props (input_size, input_channels, input_scale, mean, std).
            """)

    @Option(help: "Model file from `akin train`.") var model: String
    @Option(help: "ONNX file to write.") var out: String

    func run() throws {
        let embedding = try EmbeddingModel.load(from: model)
        try embedding.writeONNX(to: out)
        let p = embedding.preprocessing
        Console.note("wrote \(out): images [batch, \(p.channels), \(p.imageSize), \(p.imageSize)] → embedding [batch, \(embedding.embeddingDimension)], opset \(ONNXExport.opsetVersion)")
    }
}

struct ExportPyTorch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pytorch",
        abstract: "Write the model for PyTorch: a state_dict in model.safetensors and its nn.Module in akin_model.py.",
        discussion: """
            In Python (with torch and safetensors): `from akin_model import load; model, preprocessing = load("OUT/model.safetensors")` \
            gives the module in eval mode with the weights loaded strictly; model(images) returns the embeddings `akin embed` stores.
            """)

    @Option(help: "Model file from `akin train`.") var model: String
    @Option(help: "Folder to write model.safetensors and akin_model.py into (created if needed).") var out: String

    func run() throws {
        let embedding = try EmbeddingModel.load(from: model)
        try embedding.writePyTorch(to: out)
        Console.note("wrote \(out)/model.safetensors (state_dict) and \(out)/akin_model.py (nn.Module and loader)")
    }
}

struct ExportProjector: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projector",
        abstract: "Write TensorBoard Embedding Projector files: tensors.tsv, metadata.tsv, sprite.png, projector_config.pbtxt.",
        discussion: """
            Open them in TensorBoard (copy OUT into a --logdir: its projector tab reads projector_config.pbtxt) or load \
            tensors.tsv and metadata.tsv at projector.tensorflow.org.
            """)

    @Option(help: "Model file from `akin train`.") var model: String
    @Option(help: "Folder of <class>/<image> to embed.") var data: String
    @Option(help: "Folder to write the files into (created if needed).") var out: String
    @Option(help: "Thumbnail size in the sprite (default: the model's image size; lowered so the sprite stays within 8192 pixels a side).") var spriteSize: Int?
    @Option(help: "Compute threads (default: all cores).") var threads: Int?
    @OptionGroup var decoding: DecodingOptions

    func validate() throws {
        guard (spriteSize ?? 1) >= 1 else { throw ValidationError("--sprite-size must be positive") }
    }

    func run() throws {
        try AkinCommand.configureThreads(threads)
        decoding.apply()
        let embedding = try EmbeddingModel.load(from: model)
        let folders = try ClassFolders.scan(data, requireTrainable: false)
        let images = embedding.loadImages(folders.files, classNames: folders.classNames, reporter: ConsoleReporter())
        guard images.count > 0 else { throw DatasetError.nothingUsable(data) }
        let vectors = try embedding.embed(images, reporter: ConsoleReporter())
        // The sprite shows the images as the model saw them: decoded and resized, before normalisation.
        let thumbnails = (0..<images.count).map(images.image(at:))
        try ProjectorExport.write(vectors: vectors, paths: images.paths, classes: images.labels.map { images.classNames[Int($0)] },
                                  thumbnails: thumbnails, cell: spriteSize ?? embedding.preprocessing.imageSize, to: out)
        Console.note("projector files for \(images.count) images written to \(out) (tensors.tsv, metadata.tsv, sprite.png, projector_config.pbtxt)")
    }
}
