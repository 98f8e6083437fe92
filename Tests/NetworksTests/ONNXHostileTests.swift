import Foundation
@testable import Networks
import Tensors
import Testing

/// ONNX files from elsewhere that ask for arithmetic that would overflow or divide by zero are
/// refused with a message, never a trap.
@Suite("Hostile ONNX files")
struct ONNXHostileTests {
    /// images [N, 3, 8, 8] → Conv(weight [4, 3, 3, 3], attributes) → GlobalAveragePool → Flatten.
    static func model(convolution attributes: [Onnx_AttributeProto], weightDims: [Int] = [4, 3, 3, 3]) throws -> Data {
        var graph = ONNXGraphBuilder()
        let w = graph.weight("w", Tensor(shape: weightDims))
        let conv = graph.node("Conv", ["images", w], name: "conv", attributes: attributes)
        let pooled = graph.node("GlobalAveragePool", [conv], name: "pool")
        _ = graph.node("Flatten", [pooled], name: "flat")
        graph.renameLastOutput(to: "features")
        var proto = Onnx_GraphProto()
        proto.node = graph.nodes
        proto.initializer = graph.initializers
        proto.input = [ONNXGraphBuilder.tensorValue("images", batchDimension: "batch", dims: [3, 8, 8])]
        proto.output = [ONNXGraphBuilder.tensorValue("features", batchDimension: "batch", dims: [4])]
        var model = Onnx_ModelProto()
        model.irVersion = 8
        var opset = Onnx_OperatorSetIdProto()
        opset.version = 17
        model.opsetImport = [opset]
        model.graph = proto
        return try model.serializedBytes()
    }

    @Test(arguments: [
        ("strides 0", [ONNXGraphBuilder.ints("strides", [0, 0])], [4, 3, 3, 3]),
        ("SAME at stride 0", [ONNXGraphBuilder.ints("strides", [0, 0]), { var a = Onnx_AttributeProto(); a.name = "auto_pad"; a.type = .string; a.s = Data("SAME_UPPER".utf8); return a }()], [4, 3, 3, 3]),
        ("huge dilation", [ONNXGraphBuilder.ints("dilations", [1 << 40, 1 << 40])], [4, 3, 3, 3]),
        ("huge pads", [ONNXGraphBuilder.ints("pads", [1 << 62, 1 << 62, 1 << 62, 1 << 62])], [4, 3, 3, 3]),
        ("huge group", [ONNXGraphBuilder.int("group", 1 << 62)], [4, 3, 3, 3]),
    ])
    func refusedWithoutATrap(_ c: (name: String, attributes: [Onnx_AttributeProto], dims: [Int])) throws {
        let data = try Self.model(convolution: c.attributes, weightDims: c.dims)
        #expect(throws: ONNXImportError.self, "\(c.name)") { _ = try ONNXImport.read(data, path: "hostile.onnx") }
    }

    @Test func theSameFileWithSaneAttributesImports() throws {
        let imported = try ONNXImport.read(try Self.model(convolution: [ONNXGraphBuilder.ints("pads", [1, 1, 1, 1])]), path: "fine.onnx")
        #expect(imported.spec.nodes.count == 3 && imported.inputShape == [3, 8, 8])
    }

    /// A model file whose graph asks for absurd sizes is refused before any layer is built.
    @Test func aGraphAskingForTooMuchIsRefusedBeforeBuilding() {
        let spec = GraphSpec(nodes: [
            GraphNode(name: "wide", operation: .convolution(outputChannels: 1 << 40, kernel: 1, stride: 1, padding: 0, paddingEnd: 0,
                                                            dilation: 1, groups: 1, bias: false), inputs: [0]),
            GraphNode(name: "pool", operation: .globalAveragePool, inputs: [1]),
            GraphNode(name: "flat", operation: .flatten, inputs: [2]),
        ], output: 3)
        #expect(spec.problem(inputShape: [3, 8, 8]) != nil)
        let architecture = Architecture(name: "x", inputChannels: 3, inputSize: 8, layers: [.graph(spec)])
        #expect(architecture.problem != nil)
        var noVector = spec
        noVector.nodes[0].operation = .convolution(outputChannels: 4, kernel: 1, stride: 1, padding: 0, paddingEnd: 0, dilation: 1, groups: 1, bias: false)
        #expect(noVector.problem(inputShape: [3, 8, 8]) == nil)
        noVector.output = 1
        #expect(noVector.problem(inputShape: [3, 8, 8])?.contains("not one vector") == true)
    }
}
