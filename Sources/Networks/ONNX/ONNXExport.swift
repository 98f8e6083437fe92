import Foundation
import SwiftProtobuf
import Tensors

public enum ONNXExportError: Error, CustomStringConvertible {
    case missingWeight(name: String)
    case weightShape(name: String, stored: [Int], needed: [Int])

    public var description: String {
        switch self {
        case let .missingWeight(name):
            return "cannot export to ONNX: the network has no weight \(name). Export a model file written by `akin train`."
        case let .weightShape(name, stored, needed):
            return "cannot export to ONNX: \(name) has shape \(stored), the architecture needs \(needed). The model file is damaged or from another version."
        }
    }
}

/// Writes an Akin network as an ONNX model (opset 17) that any ONNX runtime runs: the input
/// "images" is a float32 [batch, C, S, S] batch already scaled and normalised as the metadata
/// says, the output "embedding" is [batch, D], of unit length when `normalizeOutput`.
///
/// Every layer maps to standard operators: Conv, Relu, MaxPool (2×2, ceil mode, as Akin pools odd
/// sizes), Flatten, Gemm, BatchNormalization (inference form, running statistics), Add,
/// GlobalAveragePool. Unit length is ReduceL2 → Max(ε) → Div rather than LpNormalization, which
/// divides by zero on an all-zero vector.
public enum ONNXExport {
    public static let opsetVersion = 17
    /// The IR version that goes with opset 17.
    public static let irVersion = 8
    public static let inputName = "images"
    public static let outputName = "embedding"
    /// Smallest norm divided by: a zero vector stays zero instead of becoming NaN. Akin's own
    /// normalisation adds 1e-12 under the square root, the same within float32 for any norm that
    /// is not itself about 1e-6.
    public static let normEpsilon: Float = 1e-6

    /// - Parameters:
    ///   - weights: the network's parameters and buffers by their Akin names (`layers.0.weight`, …).
    ///   - metadata: stored in the model's `metadata_props` (preprocessing, provenance).
    ///   - normalizeOutput: end with unit length unless the exported layers already do.
    public static func model(architecture: Architecture, weights: [String: Tensor], metadata: [String: String],
                             normalizeOutput: Bool = true, producerVersion: String = "") throws -> Data {
        var graph = ONNXGraphBuilder()
        let layers = architecture.embeddingSource == .features ? Array(architecture.layers.dropLast(architecture.headLayerCount))
                                                                  : architecture.layers
        var value = inputName
        var shape = architecture.inputShape   // per image: [C, H, W], or [D] once flat
        var endsNormalized = false

        func stored(_ name: String, _ needed: [Int]) throws -> Tensor {
            guard let tensor = weights[name] else { throw ONNXExportError.missingWeight(name: name) }
            guard tensor.shape == needed else { throw ONNXExportError.weightShape(name: name, stored: tensor.shape, needed: needed) }
            return tensor
        }

        for (index, spec) in layers.enumerated() {
            let name = "layers.\(index)"
            endsNormalized = false
            switch spec {
            case let .conv2d(filters, kernel):
                let w = graph.weight(name + ".weight", try stored(name + ".weight", [filters, shape[0], kernel, kernel]))
                let b = graph.weight(name + ".bias", try stored(name + ".bias", [filters]))
                let pad = (kernel - 1) / 2
                value = graph.node("Conv", [value, w, b], name: name, attributes: [
                    ONNXGraphBuilder.ints("kernel_shape", [kernel, kernel]), ONNXGraphBuilder.ints("pads", [pad, pad, pad, pad]),
                    ONNXGraphBuilder.ints("strides", [1, 1]),
                ])
                shape[0] = filters
            case .relu:
                value = graph.node("Relu", [value], name: name)
            case .maxPool2x2:
                value = graph.node("MaxPool", [value], name: name, attributes: [
                    ONNXGraphBuilder.ints("kernel_shape", [2, 2]), ONNXGraphBuilder.ints("strides", [2, 2]),
                    ONNXGraphBuilder.int("ceil_mode", 1),
                ])
                shape = [shape[0], MaxPool2D.pooledSize(shape[1]), MaxPool2D.pooledSize(shape[2])]
            case .flatten:
                value = graph.node("Flatten", [value], name: name, attributes: [ONNXGraphBuilder.int("axis", 1)])
                shape = [shape.reduce(1, *)]
            case let .dense(units):
                let w = graph.weight(name + ".weight", try stored(name + ".weight", [units, shape[0]]))
                let b = graph.weight(name + ".bias", try stored(name + ".bias", [units]))
                value = graph.node("Gemm", [value, w, b], name: name, attributes: [ONNXGraphBuilder.int("transB", 1)])
                shape = [units]
            case .l2Normalize:
                value = unitLength(value, name: name, graph: &graph)
                endsNormalized = true
            case let .residual(stemWidth, stages):
                let plan = ResidualPlan(inputChannels: shape[0], stemWidth: stemWidth, stages: stages)
                value = try residualNetwork(plan, input: value, prefix: name + ".", graph: &graph, stored: stored)
                shape = [plan.outputChannels]
            case let .graph(spec):
                (value, shape) = try importedGraph(spec, input: value, inputShape: shape, prefix: name + ".", graph: &graph, stored: stored)
            }
        }
        if normalizeOutput && !endsNormalized {
            value = unitLength(value, name: "embedding", graph: &graph)
        }
        graph.renameLastOutput(to: outputName)

        var proto = Onnx_GraphProto()
        proto.name = architecture.name
        proto.node = graph.nodes
        proto.initializer = graph.initializers
        proto.input = [ONNXGraphBuilder.tensorValue(inputName, batchDimension: "batch", dims: architecture.inputShape)]
        proto.output = [ONNXGraphBuilder.tensorValue(outputName, batchDimension: "batch", dims: shape)]

        var model = Onnx_ModelProto()
        model.irVersion = Int64(irVersion)
        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""
        opset.version = Int64(opsetVersion)
        model.opsetImport = [opset]
        model.producerName = "akin"
        model.producerVersion = producerVersion
        model.graph = proto
        model.metadataProps = metadata.sorted { $0.key < $1.key }.map { key, value in
            var entry = Onnx_StringStringEntryProto()
            entry.key = key
            entry.value = value
            return entry
        }
        return try model.serializedBytes()
    }

    /// x / max(‖x‖₂, ε) along the feature axis.
    private static func unitLength(_ value: String, name: String, graph: inout ONNXGraphBuilder) -> String {
        let norm = graph.node("ReduceL2", [value], name: name, attributes: [ONNXGraphBuilder.ints("axes", [1]), ONNXGraphBuilder.int("keepdims", 1)])
        let epsilon = graph.constant(name + ".epsilon", [normEpsilon])
        let floor = graph.node("Max", [norm, epsilon], name: name)
        return graph.node("Div", [value, floor], name: name)
    }

    /// An imported graph, node for node: each operation is one ONNX operator (dense is Gemm).
    private static func importedGraph(_ spec: GraphSpec, input: String, inputShape: [Int], prefix: String, graph: inout ONNXGraphBuilder,
                                      stored: (String, [Int]) throws -> Tensor) throws -> (String, [Int]) {
        var names = [input]
        let shapes = GraphNetwork.valueShapes(of: spec, input: [1] + inputShape)
        for (index, node) in spec.nodes.enumerated() {
            let name = prefix + "nodes.\(index)", x = names[node.inputs[0]], shape = shapes[node.inputs[0]]
            let pooling = { (kernel: Int, stride: Int, padding: Int, paddingEnd: Int, ceilMode: Bool) in [
                ONNXGraphBuilder.ints("kernel_shape", [kernel, kernel]), ONNXGraphBuilder.ints("strides", [stride, stride]),
                ONNXGraphBuilder.ints("pads", [padding, padding, paddingEnd, paddingEnd]), ONNXGraphBuilder.int("ceil_mode", ceilMode ? 1 : 0),
            ] }
            let output: String
            switch node.operation {
            case let .convolution(outputs, kernel, stride, padding, paddingEnd, dilation, groups, bias):
                var inputs = [x, graph.weight(name + ".weight", try stored(name + ".weight", [outputs, shape[1] / groups, kernel, kernel]))]
                if bias { inputs.append(graph.weight(name + ".bias", try stored(name + ".bias", [outputs]))) }
                output = graph.node("Conv", inputs, name: name, attributes: [
                    ONNXGraphBuilder.ints("kernel_shape", [kernel, kernel]), ONNXGraphBuilder.ints("strides", [stride, stride]),
                    ONNXGraphBuilder.ints("pads", [padding, padding, paddingEnd, paddingEnd]),
                    ONNXGraphBuilder.ints("dilations", [dilation, dilation]), ONNXGraphBuilder.int("group", groups),
                ])
            case let .batchNorm(epsilon):
                let norm = try ["weight", "bias", "running_mean", "running_var"].map { field in
                    graph.weight("\(name).\(field)", try stored("\(name).\(field)", [shape[1]]))
                }
                output = graph.node("BatchNormalization", [x] + norm, name: name, attributes: [ONNXGraphBuilder.float("epsilon", epsilon)])
            case .relu: output = graph.node("Relu", [x], name: name)
            case let .clip(low, high):
                output = graph.node("Clip", [x, graph.constant(name + ".low", [low]), graph.constant(name + ".high", [high])], name: name)
            case .sigmoid: output = graph.node("Sigmoid", [x], name: name)
            case .add: output = graph.node("Add", [x, names[node.inputs[1]]], name: name)
            case .multiply: output = graph.node("Mul", [x, names[node.inputs[1]]], name: name)
            case let .maxPool(kernel, stride, padding, paddingEnd, ceilMode):
                output = graph.node("MaxPool", [x], name: name, attributes: pooling(kernel, stride, padding, paddingEnd, ceilMode))
            case let .averagePool(kernel, stride, padding, paddingEnd, ceilMode, countIncludePad):
                output = graph.node("AveragePool", [x], name: name, attributes: pooling(kernel, stride, padding, paddingEnd, ceilMode)
                                    + [ONNXGraphBuilder.int("count_include_pad", countIncludePad ? 1 : 0)])
            case .globalAveragePool: output = graph.node("GlobalAveragePool", [x], name: name)
            case .flatten: output = graph.node("Flatten", [x], name: name, attributes: [ONNXGraphBuilder.int("axis", 1)])
            case let .dense(units):
                let w = graph.weight(name + ".weight", try stored(name + ".weight", [units, shape[1]]))
                let b = graph.weight(name + ".bias", try stored(name + ".bias", [units]))
                output = graph.node("Gemm", [x, w, b], name: name, attributes: [ONNXGraphBuilder.int("transB", 1)])
            }
            names.append(output)
        }
        // A graph value that is not the last node's output still becomes the graph's: Identity makes it last.
        var output = names[spec.output]
        if spec.output != spec.nodes.count { output = graph.node("Identity", [output], name: prefix + "output") }
        return (output, Array(shapes[spec.output].dropFirst()))
    }

    /// The stem, the basic blocks and global average pooling, unit by unit as `ResidualPlan` lists
    /// them; each convolution has no bias and is followed by batch norm in inference form.
    private static func residualNetwork(_ plan: ResidualPlan, input: String, prefix: String, graph: inout ONNXGraphBuilder,
                                        stored: (String, [Int]) throws -> Tensor) throws -> String {
        func unit(_ index: Int, _ input: String) throws -> String {
            let u = plan.units[index], name = prefix + u.name
            let w = graph.weight(name + ".weight", try stored(name + ".weight", [u.outputChannels, u.inputChannels, u.kernelSize, u.kernelSize]))
            let pad = (u.kernelSize - 1) / 2
            var value = graph.node("Conv", [input, w], name: name, attributes: [
                ONNXGraphBuilder.ints("kernel_shape", [u.kernelSize, u.kernelSize]), ONNXGraphBuilder.ints("pads", [pad, pad, pad, pad]),
                ONNXGraphBuilder.ints("strides", [u.stride, u.stride]),
            ])
            let norm = try ["weight", "bias", "running_mean", "running_var"].map { field in
                graph.weight("\(name).norm.\(field)", try stored("\(name).norm.\(field)", [u.outputChannels]))
            }
            value = graph.node("BatchNormalization", [value] + norm, name: name + ".norm",
                               attributes: [ONNXGraphBuilder.float("epsilon", BatchNorm2D.defaultEpsilon)])
            return u.relu ? graph.node("Relu", [value], name: name) : value
        }
        var value = try unit(0, input)
        for block in plan.blocks {
            let main = try unit(block.second, try unit(block.first, value))
            let shortcut = try block.shortcut.map { try unit($0, value) } ?? value
            let sum = graph.node("Add", [main, shortcut], name: prefix + block.name)
            value = graph.node("Relu", [sum], name: prefix + block.name)
        }
        let pooled = graph.node("GlobalAveragePool", [value], name: prefix + "pool")
        return graph.node("Flatten", [pooled], name: prefix + "pool", attributes: [ONNXGraphBuilder.int("axis", 1)])
    }
}
