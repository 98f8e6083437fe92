import Foundation
import Networks
import Tensors

extension EmbeddingModel {
    /// Keys of the exported model's `metadata_props` that tell another program how to make its
    /// input: the image is resized to `input_size`², given `input_channels` channels (1 gray, 3
    /// RGB), laid out NCHW, and each value becomes (pixel · `input_scale` − mean) / std.
    public enum ONNXMetadata {
        public static let inputSize = "input_size"
        public static let inputChannels = "input_channels"
        public static let inputScale = "input_scale"
        public static let mean = "mean"
        public static let std = "std"
        public static let layout = "input_layout"
        public static let resize = "resize"
        public static let distance = "distance"
    }

    /// The embedding network as an ONNX model (opset 17): input "images" [batch, C, S, S]
    /// normalised as its metadata says, output "embedding" [batch, D] of unit length, the same
    /// vectors `embed` returns. Akin's own model-file metadata (architecture, preprocessing,
    /// fingerprint) travels along under its `akin.` keys.
    public func onnxModel() throws -> Data {
        var weights: [String: Tensor] = [:]
        for parameter in network.parameters + network.buffers { weights[parameter.name] = parameter.value }
        let list = { (values: [Float]) in values.map { "\($0)" }.joined(separator: ",") }
        var metadata = try fileContents().metadata
        metadata["akin.fingerprint"] = fingerprint
        metadata[ONNXMetadata.inputSize] = "\(preprocessing.imageSize)"
        metadata[ONNXMetadata.inputChannels] = "\(preprocessing.channels)"
        metadata[ONNXMetadata.inputScale] = "\(Float(1) / 255)"
        metadata[ONNXMetadata.mean] = list(preprocessing.mean)
        metadata[ONNXMetadata.std] = list(preprocessing.std)
        metadata[ONNXMetadata.layout] = "NCHW"
        metadata[ONNXMetadata.resize] = "stretched to input_size × input_size, antialiased bilinear (as PIL's Image.resize with BILINEAR)"
        metadata[ONNXMetadata.distance] = "\(distance.rawValue) in training; the embeddings have unit length, so cosine similarity (their dot product) ranks alike"
        return try ONNXExport.model(architecture: architecture, weights: weights, metadata: metadata)
    }

    /// Writes `onnxModel()` to `path`, whole or not at all.
    public func writeONNX(to path: String) throws {
        try AtomicFile.write(try onnxModel(), to: path)
    }
}
