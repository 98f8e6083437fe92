import Foundation
import SwiftProtobuf
import Tensors

/// A network read from an ONNX file: its graph as Akin runs it, the weights under the names the
/// built `GraphNetwork` gives its parameters (`layers.0.nodes.<i>.…`), and what the file says of
/// its input.
public struct ImportedNetwork {
    /// The ONNX graph's name.
    public var name: String
    public var spec: GraphSpec
    public var weights: [String: Tensor]
    /// [C, H, W] per image.
    public var inputShape: [Int]
    /// The ONNX value the imported network ends at.
    public var outputName: String
    /// The model's metadata_props.
    public var metadata: [String: String]
}

/// Reads convolutional networks (ResNet, MobileNet, EfficientNet-Lite and the like) from ONNX
/// files into a `GraphSpec` and its weights. By default the network ends at its pooled features
/// (the last GlobalAveragePool, with a Flatten or Reshape right after it), leaving the classifier
/// out; `output` names another value. Only the nodes that value depends on are read, so an
/// operator Akin cannot run after it does not matter; one before it is refused by name and
/// position.
public enum ONNXImport {
    /// protobuf's own limit on one message; larger models keep their weights in external files,
    /// which Akin does not read.
    public static let maximumFileSize = 2_147_483_647
    /// The opsets whose operator definitions Akin follows (Clip takes its bounds as inputs from 11).
    public static let supportedOpsets = 7...23

    public static func read(path: String, output: String? = nil, imageSize: Int? = nil) throws -> ImportedNetwork {
        let size: Int
        do { size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0 } catch {
            throw ONNXImportError.unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        guard size <= maximumFileSize else {
            throw ONNXImportError.notAModel(path: path, reason: "it is \(size) bytes, more than one protobuf message can hold")
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw ONNXImportError.unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        return try read(data, path: path, output: output, imageSize: imageSize)
    }

    public static func read(_ data: Data, path: String, output: String? = nil, imageSize: Int? = nil) throws -> ImportedNetwork {
        let model: Onnx_ModelProto
        do { model = try Onnx_ModelProto(serializedBytes: data) } catch {
            throw ONNXImportError.notAModel(path: path, reason: "it does not parse as an ONNX ModelProto (\(error))")
        }
        guard model.hasGraph, !model.graph.node.isEmpty else { throw ONNXImportError.notAModel(path: path, reason: "it has no graph") }
        guard let opset = model.opsetImport.first(where: { $0.domain.isEmpty || $0.domain == "ai.onnx" })?.version else {
            throw ONNXImportError.notAModel(path: path, reason: "it imports no version of the standard operator set")
        }
        guard supportedOpsets.contains(Int(opset)) else {
            throw ONNXImportError.notAModel(path: path, reason: "it uses opset \(opset); Akin reads opsets \(supportedOpsets.lowerBound)–\(supportedOpsets.upperBound) (onnx.version_converter can convert it)")
        }
        var reader = ONNXGraphReader(path: path, opset: Int(opset))
        let network = try reader.read(model.graph, output: output, imageSize: imageSize)
        var metadata: [String: String] = [:]
        for entry in model.metadataProps { metadata[entry.key] = entry.value }
        return ImportedNetwork(name: model.graph.name, spec: network.spec, weights: network.weights, inputShape: network.inputShape,
                               outputName: network.outputName, metadata: metadata)
    }
}
