import Foundation
import SwiftProtobuf
import Tensors

/// Collects the nodes and weights of one ONNX graph in the order they are added, naming each
/// intermediate value uniquely. Weights are stored as raw little-endian float32 (`raw_data`), as
/// PyTorch's exporter does: compact, and read by every ONNX runtime.
struct ONNXGraphBuilder {
    private(set) var nodes: [Onnx_NodeProto] = []
    private(set) var initializers: [Onnx_TensorProto] = []
    private var valueCount = 0

    /// Adds a weight under `name` and returns the name, for a node's input.
    @discardableResult
    mutating func weight(_ name: String, _ tensor: Tensor) -> String {
        var proto = Onnx_TensorProto()
        proto.name = name
        proto.dims = tensor.shape.map(Int64.init)
        proto.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        proto.rawData = Data(bytes: tensor.pointer, count: tensor.count * MemoryLayout<Float>.size)
        initializers.append(proto)
        return name
    }

    /// Adds a small float constant (a shape-free scalar when `dims` is empty).
    mutating func constant(_ name: String, _ values: [Float], dims: [Int] = []) -> String {
        weight(name, Tensor(shape: dims.isEmpty ? [] : dims, values: values))
    }

    /// Adds one operator and returns the name of its (single) output. `name` names the node after
    /// the Akin layer it comes from, so a reader of the graph can tell which is which.
    mutating func node(_ operatorType: String, _ inputs: [String], name: String, attributes: [Onnx_AttributeProto] = []) -> String {
        valueCount += 1
        let output = "\(name)/\(operatorType.lowercased())_\(valueCount)"
        var proto = Onnx_NodeProto()
        proto.opType = operatorType
        proto.name = "\(name)/\(operatorType)_\(valueCount)"
        proto.input = inputs
        proto.output = [output]
        proto.attribute = attributes
        nodes.append(proto)
        return output
    }

    /// Renames the last node's output, so the graph's output carries a chosen name.
    mutating func renameLastOutput(to name: String) {
        nodes[nodes.count - 1].output = [name]
    }

    static func ints(_ name: String, _ values: [Int]) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .ints
        attribute.ints = values.map(Int64.init)
        return attribute
    }

    static func int(_ name: String, _ value: Int) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .int
        attribute.i = Int64(value)
        return attribute
    }

    static func float(_ name: String, _ value: Float) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .float
        attribute.f = value
        return attribute
    }

    /// A float32 tensor value whose first dimension is the batch (named, so any batch size runs).
    static func tensorValue(_ name: String, batchDimension: String, dims: [Int]) -> Onnx_ValueInfoProto {
        var shape = Onnx_TensorShapeProto()
        var batch = Onnx_TensorShapeProto.Dimension()
        batch.dimParam = batchDimension
        shape.dim = [batch] + dims.map { size in
            var dimension = Onnx_TensorShapeProto.Dimension()
            dimension.dimValue = Int64(size)
            return dimension
        }
        var tensorType = Onnx_TypeProto.Tensor()
        tensorType.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensorType.shape = shape
        var type = Onnx_TypeProto()
        type.tensorType = tensorType
        var value = Onnx_ValueInfoProto()
        value.name = name
        value.type = type
        return value
    }
}
