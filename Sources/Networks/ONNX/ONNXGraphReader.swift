import Foundation
import Tensors

/// Turns an ONNX graph into a `GraphSpec`, node by node, tracking each value's shape (batch 1) so
/// that SAME padding can be worked out and every operator's use can be checked.
struct ONNXGraphReader {
    let path: String
    let opset: Int
    static let prefix = "layers.0."

    private var constants: [String: ONNXConstant] = [:]
    /// ONNX value name → Akin value index (0: the input).
    private var values: [String: Int] = [:]
    private var shapes: [[Int]] = []
    private var nodes: [GraphNode] = []
    private var weights: [String: Tensor] = [:]
    /// Outputs of zero-padding Pad nodes (TensorFlow-style SAME padding exported from PyTorch's
    /// ZeroPad2d): the padded value and its padding before and after, folded into the convolution
    /// that reads it.
    private var padded: [String: (source: Int, begin: Int, end: Int)] = [:]
    /// The image size SAME padding was worked out for, when a node asked for it.
    private var samePaddingSize: Int?

    init(path: String, opset: Int) {
        self.path = path
        self.opset = opset
    }

    struct Result {
        var spec: GraphSpec
        var weights: [String: Tensor]
        var inputShape: [Int]
        var outputName: String
    }

    mutating func read(_ graph: Onnx_GraphProto, output requested: String?, imageSize: Int?) throws -> Result {
        for initializer in graph.initializer { constants[initializer.name] = try ONNXConstant(initializer, path: path) }
        // Constants given as a tensor; other forms (value_float, value_ints, …) stay unknown, and a
        // node that needs one is refused by name when it is read.
        for node in graph.node where node.opType == "Constant" && (node.domain.isEmpty || node.domain == "ai.onnx") {
            guard let value = node.attribute.first(where: { $0.name == "value" }), value.hasT, let name = node.output.first else { continue }
            constants[name] = try ONNXConstant(value.t, path: path)
        }
        let inputShape = try readInput(graph, imageSize: imageSize)

        let target = requested ?? pooledFeatures(graph) ?? graph.output.first?.name ?? ""
        var producer: [String: Int] = [:]
        for (index, node) in graph.node.enumerated() { for output in node.output where !output.isEmpty { producer[output] = index } }
        guard values[target] != nil || producer[target] != nil else {
            throw ONNXImportError.notAModel(path: path, reason: "it has no value named \"\(target)\" to end the network at")
        }
        // Only the nodes the chosen output depends on.
        var needed = Set<Int>(), pending = [target]
        while let name = pending.popLast() {
            guard let index = producer[name], needed.insert(index).inserted else { continue }
            pending += graph.node[index].input.filter { !$0.isEmpty && constants[$0] == nil }
        }
        for (position, node) in graph.node.enumerated() where needed.contains(position) && node.opType != "Constant" {
            try read(node, position: position)
        }
        guard var output = values[target], output > 0 else {
            throw ONNXImportError.notAModel(path: path, reason: "\"\(target)\" is the input itself, not computed from it")
        }
        // Pooled [N, C, 1, 1] features become [N, C].
        if shapes[output].count == 4 && shapes[output][2] == 1 && shapes[output][3] == 1 {
            nodes.append(GraphNode(name: target + " (flattened)", operation: .flatten, inputs: [output]))
            shapes.append([shapes[output][0], shapes[output][1]])
            output = nodes.count
        }
        guard shapes[output].count == 2 else {
            throw ONNXImportError.notAModel(path: path, reason: "the output \"\(target)\" is \(shapes[output].dropFirst()) per image, not one vector: choose a value after global pooling (--output)")
        }
        var spec = GraphSpec(nodes: nodes, output: output)
        spec.paddingImageSize = samePaddingSize
        if let problem = spec.problem(inputShape: inputShape) { throw ONNXImportError.notAModel(path: path, reason: problem) }
        return Result(spec: spec, weights: weights, inputShape: inputShape, outputName: target)
    }

    /// The image input: the first graph input that is not a weight, float32 [N, C, H, W] with a
    /// fixed C and a square H × W (or `imageSize`, for inputs whose size is left open).
    private mutating func readInput(_ graph: Onnx_GraphProto, imageSize: Int?) throws -> [Int] {
        guard let input = graph.input.first(where: { constants[$0.name] == nil }) else {
            throw ONNXImportError.notAModel(path: path, reason: "its graph has no input besides its weights")
        }
        let type = input.type.tensorType
        guard type.elemType == Int32(Onnx_TensorProto.DataType.float.rawValue), type.shape.dim.count == 4 else {
            throw ONNXImportError.notAModel(path: path, reason: "its input \"\(input.name)\" is not a float32 [N, C, H, W] image batch")
        }
        let dims = type.shape.dim.map { $0.value.flatMap { if case let .dimValue(v) = $0 { Int(v) } else { nil } } }
        guard let channels = dims[1], (1...4).contains(channels) else {
            throw ONNXImportError.notAModel(path: path, reason: "its input \"\(input.name)\" has \(dims[1].map(String.init) ?? "an open number of") channels; Akin reads 1 to 4")
        }
        let size: Int
        if let imageSize {
            size = imageSize
        } else {
            guard let h = dims[2], let w = dims[3] else {
                throw ONNXImportError.notAModel(path: path, reason: "its input's height and width are not fixed: give the image size (--image-size)")
            }
            guard h == w else { throw ONNXImportError.notAModel(path: path, reason: "its input is \(h)×\(w); Akin's images are square (give --image-size)") }
            size = h
        }
        guard (1...4096).contains(size) else { throw ONNXImportError.notAModel(path: path, reason: "image size \(size) is outside 1–4096") }
        values[input.name] = 0
        shapes = [[1, channels, size, size]]
        return [channels, size, size]
    }

    /// The last GlobalAveragePool's output, or the Flatten, Reshape or Squeeze that reads it.
    private func pooledFeatures(_ graph: Onnx_GraphProto) -> String? {
        guard let pool = graph.node.last(where: { $0.opType == "GlobalAveragePool" }), let pooled = pool.output.first else { return nil }
        let readers = graph.node.filter { $0.input.contains(pooled) }
        guard readers.count == 1, let flat = readers[0].output.first else { return pooled }
        switch readers[0].opType {
        case "Flatten": return flat
        // A Reshape whose shape is computed (x.view(x.size(0), -1) in PyTorch) is left out: the
        // pooled value is flattened instead.
        case "Reshape" where readers[0].input.count == 2 && constants[readers[0].input[1]] != nil: return flat
        default: return pooled
        }
    }

    // MARK: one node

    private mutating func read(_ node: Onnx_NodeProto, position: Int) throws {
        let type = node.opType
        func refuse(_ reason: String) -> ONNXImportError {
            .unsupportedUse(path: path, position: position, name: node.name, operatorType: type, reason: reason)
        }
        guard node.domain.isEmpty || node.domain == "ai.onnx" else {
            throw ONNXImportError.unsupportedOperator(path: path, position: position, name: node.name, operatorType: node.domain + "." + type)
        }
        func attribute(_ name: String) -> Onnx_AttributeProto? { node.attribute.first { $0.name == name } }
        func int(_ name: String, _ fallback: Int) -> Int { attribute(name).map { Int($0.i) } ?? fallback }
        func ints(_ name: String) -> [Int]? { attribute(name).map { $0.ints.map(Int.init) } }
        func float(_ name: String, _ fallback: Float) -> Float { attribute(name).map(\.f) ?? fallback }
        func activation(_ slot: Int) throws -> Int {
            if slot < node.input.count, padded[node.input[slot]] != nil {
                throw refuse("it reads the output of a Pad; Akin folds zero padding into a convolution only")
            }
            guard slot < node.input.count, let value = values[node.input[slot]] else {
                throw refuse("its input \(slot) (\(slot < node.input.count ? node.input[slot] : "missing")) is not computed from the image input")
            }
            return value
        }
        func constant(_ slot: Int, _ role: String) throws -> ONNXConstant? {
            guard slot < node.input.count, !node.input[slot].isEmpty else { return nil }
            guard let constant = constants[node.input[slot]] else { throw refuse("its \(role) must be a constant (an initializer)") }
            return constant
        }
        func floats(_ slot: Int, _ role: String, count: Int) throws -> Tensor {
            guard let c = try constant(slot, role), let tensor = c.tensor, tensor.count == count else {
                throw refuse("its \(role) must be \(count) float32 values")
            }
            return tensor
        }
        func square(_ values: [Int]?, _ what: String, fallback: Int) throws -> Int {
            guard let values, !values.isEmpty else { return fallback }
            guard values.count == 2, values[0] == values[1] else { throw refuse("\(what) \(values): Akin runs square kernels, strides and dilations") }
            guard (1...GraphSpec.largestExtent).contains(values[0]) else { throw refuse("\(what) \(values) is outside 1–\(GraphSpec.largestExtent)") }
            return values[0]
        }
        /// Padding before and after, from `pads` ([top, left, bottom, right]) or `auto_pad`.
        func padding(kernel: Int, stride: Int, dilation: Int, size: Int) throws -> (Int, Int) {
            let mode = attribute("auto_pad").map { String(decoding: $0.s, as: UTF8.self) } ?? "NOTSET"
            switch mode {
            case "NOTSET", "":
                guard let pads = ints("pads"), !pads.isEmpty else { return (0, 0) }
                guard pads.count == 4, pads[0] == pads[1], pads[2] == pads[3], pads.allSatisfy({ (0...GraphSpec.largestExtent).contains($0) }) else {
                    throw refuse("pads \(pads): Akin pads top as left and bottom as right")
                }
                return (pads[0], pads[2])
            case "VALID": return (0, 0)
            case "SAME_UPPER", "SAME_LOWER":
                samePaddingSize = shapes[0][2]
                let total = Swift.max(((size + stride - 1) / stride - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
                return mode == "SAME_UPPER" ? (total / 2, total - total / 2) : (total - total / 2, total / 2)
            default: throw refuse("auto_pad \(mode) is not an ONNX padding mode")
            }
        }
        func add(_ operation: GraphOperation, inputs: [Int]) throws -> Int {
            let shape = GraphNetwork.outputShape(of: operation, inputs: inputs.map { shapes[$0] })
            guard shape.allSatisfy({ $0 >= 1 }) else { throw refuse("it gives the empty shape \(shape) on \(inputs.map { shapes[$0] })") }
            nodes.append(GraphNode(name: node.name, operation: operation, inputs: inputs))
            shapes.append(shape)
            let index = nodes.count
            values[node.output[0]] = index
            return index
        }
        let name = Self.prefix + "nodes.\(nodes.count)"
        guard let output = node.output.first, !output.isEmpty else { throw refuse("it has no output") }
        if node.output.dropFirst().contains(where: { !$0.isEmpty }) && type != "Dropout" {
            throw refuse("it has \(node.output.count) outputs; Akin uses the first only (export for inference)")
        }

        switch type {
        case "Conv":
            let extra = node.input.first.flatMap { padded[$0] }
            let x = try extra?.source ?? activation(0), shape = shapes[x]
            guard shape.count == 4 else { throw refuse("its input is \(shape), not [N, C, H, W]") }
            guard let w = try constant(1, "weight"), let weight = w.tensor, w.dims.count == 4 else { throw refuse("its weight must be a constant [O, C/groups, kh, kw]") }
            let groups = int("group", 1)
            guard w.dims[2] == w.dims[3] else { throw refuse("kernel \(w.dims[2])×\(w.dims[3]): Akin runs square kernels") }
            guard (1...GraphSpec.largestExtent).contains(w.dims[2]) else { throw refuse("kernel \(w.dims[2]) is outside 1–\(GraphSpec.largestExtent)") }
            guard groups >= 1, shape[1] % groups == 0, w.dims[1] == shape[1] / groups, w.dims[0] % groups == 0 else {
                throw refuse("weight \(w.dims) in \(groups) groups does not fit \(shape[1]) input channels")
            }
            let kernel = w.dims[2]
            let stride = try square(ints("strides"), "strides", fallback: 1), dilation = try square(ints("dilations"), "dilations", fallback: 1)
            var (begin, end) = try padding(kernel: kernel, stride: stride, dilation: dilation, size: shape[2])
            if let extra {
                guard attribute("auto_pad").map({ ["NOTSET", ""].contains(String(decoding: $0.s, as: UTF8.self)) }) ?? true else {
                    throw refuse("it reads a Pad and also pads itself with auto_pad")
                }
                begin += extra.begin
                end += extra.end
            }
            let bias = try constant(2, "bias") != nil
            weights[name + ".weight"] = weight
            if bias { weights[name + ".bias"] = try floats(2, "bias", count: w.dims[0]) }
            _ = try add(.convolution(outputChannels: w.dims[0], kernel: kernel, stride: stride, padding: begin, paddingEnd: end,
                                     dilation: dilation, groups: groups, bias: bias), inputs: [x])
        case "BatchNormalization":
            let x = try activation(0), shape = shapes[x]
            guard shape.count == 4 else { throw refuse("its input is \(shape), not [N, C, H, W]") }
            guard int("training_mode", 0) == 0 else { throw refuse("it is in training mode; export the network in eval mode") }
            for (slot, field) in ["weight", "bias", "running_mean", "running_var"].enumerated() {
                weights[name + "." + field] = try floats(slot + 1, field.replacingOccurrences(of: "_", with: " "), count: shape[1])
            }
            _ = try add(.batchNorm(epsilon: float("epsilon", 1e-5)), inputs: [x])
        case "Relu":
            _ = try add(.relu, inputs: [try activation(0)])
        case "Clip":
            var low = -Float.greatestFiniteMagnitude, high = Float.greatestFiniteMagnitude
            if opset < 11 {
                low = float("min", low)
                high = float("max", high)
            } else {
                for (slot, role) in [(1, "minimum"), (2, "maximum")] {
                    guard let bound = try constant(slot, role) else { continue }
                    guard let value = bound.floats, value.count == 1 else { throw refuse("its \(role) must be one float32") }
                    if slot == 1 { low = value[0] } else { high = value[0] }
                }
            }
            guard low <= high else { throw refuse("its minimum \(low) is above its maximum \(high)") }
            _ = try add(.clip(low: low, high: high), inputs: [try activation(0)])
        case "Sigmoid":
            _ = try add(.sigmoid, inputs: [try activation(0)])
        case "Add", "Mul":
            guard node.input.count == 2, node.input.allSatisfy({ constants[$0] == nil }) else {
                throw refuse("it combines a constant; Akin \(type == "Add" ? "adds" : "multiplies") two computed values")
            }
            let a = try activation(0), b = try activation(1)
            if type == "Add" {
                guard shapes[a] == shapes[b] else { throw refuse("it adds \(shapes[a]) and \(shapes[b]); Akin adds equal shapes") }
                _ = try add(.add, inputs: [a, b])
            } else {
                guard shapes[a] == shapes[b] || GraphNetwork.broadcastsOverPlanes(shapes[a], shapes[b])
                        || GraphNetwork.broadcastsOverPlanes(shapes[b], shapes[a]) else {
                    throw refuse("it multiplies \(shapes[a]) by \(shapes[b]); Akin multiplies equal shapes or [N, C, H, W] by [N, C, 1, 1]")
                }
                _ = try add(.multiply, inputs: [a, b])
            }
        case "MaxPool", "AveragePool":
            let x = try activation(0), shape = shapes[x]
            guard shape.count == 4 else { throw refuse("its input is \(shape), not [N, C, H, W]") }
            guard ints("kernel_shape") != nil else { throw refuse("it has no kernel_shape") }
            let kernel = try square(ints("kernel_shape"), "kernel_shape", fallback: 1)
            let stride = try square(ints("strides"), "strides", fallback: 1)
            guard try square(ints("dilations"), "dilations", fallback: 1) == 1 else { throw refuse("dilated pooling is not supported") }
            guard int("storage_order", 0) == 0 else { throw refuse("column-major storage_order is not supported") }
            let (begin, end) = try padding(kernel: kernel, stride: stride, dilation: 1, size: shape[2])
            guard begin < kernel, end < kernel else { throw refuse("padding \(begin)/\(end) is not smaller than the kernel \(kernel)") }
            let ceilMode = int("ceil_mode", 0) != 0
            let operation: GraphOperation = type == "MaxPool"
                ? .maxPool(kernel: kernel, stride: stride, padding: begin, paddingEnd: end, ceilMode: ceilMode)
                : .averagePool(kernel: kernel, stride: stride, padding: begin, paddingEnd: end, ceilMode: ceilMode,
                               countIncludePad: int("count_include_pad", 0) != 0)
            _ = try add(operation, inputs: [x])
        case "GlobalAveragePool":
            let x = try activation(0)
            guard shapes[x].count == 4 else { throw refuse("its input is \(shapes[x]), not [N, C, H, W]") }
            _ = try add(.globalAveragePool, inputs: [x])
        case "Flatten":
            let x = try activation(0), rank = shapes[x].count
            let axis = int("axis", 1)
            guard axis == 1 || axis == 1 - rank else { throw refuse("axis \(axis): Akin flattens everything after the batch (axis 1)") }
            _ = try add(.flatten, inputs: [x])
        case "Reshape":
            let x = try activation(0), shape = shapes[x]
            guard let target = try constant(1, "shape")?.integers else { throw refuse("its shape must be a constant (computed shapes are not supported)") }
            let features = shape.dropFirst().reduce(1, *)
            guard target.count == 2, [0, -1, 1].contains(target[0]), target[1] == -1 || Int(target[1]) == features else {
                throw refuse("shape \(target) on \(shape): Akin reshapes only to [batch, \(features)]")
            }
            _ = try add(.flatten, inputs: [x])
        case "Gemm":
            let x = try activation(0), shape = shapes[x]
            guard shape.count == 2 else { throw refuse("its input is \(shape), not [N, D]") }
            guard int("transA", 0) == 0 else { throw refuse("transA is not supported") }
            guard let b = try constant(1, "weight"), let bValues = b.floats, b.dims.count == 2 else { throw refuse("its B must be a constant matrix") }
            let transB = int("transB", 0) != 0
            let (units, inputs) = transB ? (b.dims[0], b.dims[1]) : (b.dims[1], b.dims[0])
            guard inputs == shape[1] else { throw refuse("B \(b.dims) does not fit \(shape[1]) features") }
            let alpha = float("alpha", 1), beta = float("beta", 1)
            // Dense keeps W as [units, inputs]: B as it is with transB, else Bᵀ; α and β folded in.
            let weight = Tensor(shape: [units, inputs])
            for u in 0..<units { for i in 0..<inputs { weight[u * inputs + i] = alpha * (transB ? bValues[u * inputs + i] : bValues[i * units + u]) } }
            let bias = Tensor(shape: [units])
            if let c = try constant(2, "C") {
                guard let cValues = c.floats, cValues.count == units || cValues.count == 1 else { throw refuse("its C must be \(units) values or one") }
                for u in 0..<units { bias[u] = beta * cValues[cValues.count == 1 ? 0 : u] }
            }
            weights[name + ".weight"] = weight
            weights[name + ".bias"] = bias
            _ = try add(.dense(units: units), inputs: [x])
        case "Pad":
            let x = try activation(0)
            let mode = attribute("mode").map { String(decoding: $0.s, as: UTF8.self) } ?? "constant"
            guard mode == "constant" else { throw refuse("mode \(mode): Akin folds only zero (constant) padding into convolutions") }
            let pads: [Int]
            let value: Float
            if opset < 11 {
                pads = ints("pads") ?? []
                value = float("value", 0)
            } else {
                guard let p = try constant(1, "pads")?.integers else { throw refuse("its pads must be a constant") }
                pads = p.map(Int.init)
                value = try constant(2, "value")?.floats?.first ?? 0
            }
            guard value == 0 else { throw refuse("it pads with \(value); Akin folds only zero padding") }
            guard pads.count == 8, pads[0] == 0, pads[1] == 0, pads[4] == 0, pads[5] == 0, pads[2] == pads[3], pads[6] == pads[7],
                  pads.allSatisfy({ (0...GraphSpec.largestExtent).contains($0) }), shapes[x].count == 4 else {
                throw refuse("pads \(pads): Akin folds padding of height and width alike (top as left, bottom as right) into convolutions")
            }
            padded[output] = (x, pads[2], pads[6])
        case "Identity", "Dropout":
            if node.output.count > 1 && !node.output[1].isEmpty { throw refuse("its mask output is used") }
            values[output] = try activation(0)
        default:
            throw ONNXImportError.unsupportedOperator(path: path, position: position, name: node.name, operatorType: type)
        }
    }
}
