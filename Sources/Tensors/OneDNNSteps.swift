import CDNNL

// Steps the fused kernels share: elementwise functions and their backward passes, and sums.

/// An elementwise function as oneDNN computes it: forward (alone or as a post-op fused into the
/// primitive before it), and backward from the saved *output*, so that a fused function's input
/// need never be stored.
struct EltwiseFunction {
    let forward: dnnl_alg_kind_t
    let backwardFromOutput: dnnl_alg_kind_t
    let alpha: Float, beta: Float
    /// For messages: "ReLU", "clip to [0, 6]".
    let name: String

    static let relu = EltwiseFunction(forward: dnnl_eltwise_relu, backwardFromOutput: dnnl_eltwise_relu_use_dst_for_bwd,
                                      alpha: 0, beta: 0, name: "ReLU")
    static let sigmoid = EltwiseFunction(forward: dnnl_eltwise_logistic, backwardFromOutput: dnnl_eltwise_logistic_use_dst_for_bwd,
                                         alpha: 0, beta: 0, name: "sigmoid")

    /// min(max(x, low), high). clip_v2's gradient from the output passes where low < y < high,
    /// which is where low < x < high: PyTorch's hardtanh and Akin's `Clip` (none at the bounds).
    static func clip(low: Float, high: Float) -> EltwiseFunction {
        EltwiseFunction(forward: dnnl_eltwise_clip_v2, backwardFromOutput: dnnl_eltwise_clip_v2_use_dst_for_bwd,
                        alpha: low, beta: high, name: "clip to [\(low), \(high)]")
    }
}

/// The function's forward step from `input` into `output` (same layout; they may be one memory).
func eltwiseForwardStep(_ function: EltwiseFunction, input: DNNLMemory, output: DNNLMemory, training: Bool,
                        _ name: String) throws(OneDNNError) -> DNNLStep {
    var data = input.desc
    var forward = dnnl_eltwise_desc_t()
    try check(dnnl_eltwise_forward_desc_init(&forward, training ? dnnl_forward_training : dnnl_forward_inference, function.forward,
                                             &data, function.alpha, function.beta), "describe \(name)")
    return (try DNNLPrimitive(&forward, name), [(DNNL_ARG_SRC, input), (DNNL_ARG_DST, output)])
}

/// The function's backward step on its saved output: `into` = f′ ⊙ `gradient` (oneDNN's eltwise
/// backward may write over its output gradient, so `into` may be `gradient`).
func eltwiseBackwardStep(_ function: EltwiseFunction, output: DNNLMemory, gradient: DNNLMemory, into result: DNNLMemory,
                         _ name: String) throws(OneDNNError) -> DNNLStep {
    var data = output.desc, diff = gradient.desc
    // A backward primitive needs a forward one as its hint; this one is never run.
    var forward = dnnl_eltwise_desc_t()
    try check(dnnl_eltwise_forward_desc_init(&forward, dnnl_forward_training, function.backwardFromOutput, &data,
                                             function.alpha, function.beta), "describe \(name)")
    let hint = try DNNLPrimitive(&forward, name)
    var backward = dnnl_eltwise_desc_t()
    try check(dnnl_eltwise_backward_desc_init(&backward, function.backwardFromOutput, &diff, &data, function.alpha, function.beta),
              "describe \(name) backward")
    let primitive = try DNNLPrimitive(&backward, name + " backward", hint: hint)
    return (primitive, [(DNNL_ARG_DST, output), (DNNL_ARG_DIFF_DST, gradient), (DNNL_ARG_DIFF_SRC, result)])
}

/// The sum of `sources` into `destination` (which may be the first source) with oneDNN's sum
/// primitive, which reorders with accumulation and so handles every layout, padded ones included.
func sumStep(_ sources: [DNNLMemory], into destination: DNNLMemory, _ name: String) throws(OneDNNError) -> DNNLStep {
    let sum = try DNNLPrimitive(sumOf: sources.map(\.desc), into: destination.desc, name)
    return (sum, sources.enumerated().map { (DNNL_ARG_MULTIPLE_SRC + Int32($0.offset), $0.element) } + [(DNNL_ARG_DST, destination)])
}

/// a + b into `destination` (all three in one layout; `destination` may be a): the binary kernel
/// where it is exact, the sum primitive elsewhere (see `binaryKernelIsSafe`).
func addStep(_ a: DNNLMemory, _ b: DNNLMemory, into destination: DNNLMemory, _ name: String) throws(OneDNNError) -> DNNLStep {
    guard binaryKernelIsSafe(for: destination.desc) else { return try sumStep([a, b], into: destination, name) }
    var x = a.desc, y = b.desc, z = destination.desc
    var binary = dnnl_binary_desc_t()
    try check(dnnl_binary_desc_init(&binary, dnnl_binary_add, &x, &y, &z), "describe \(name)")
    return (try DNNLPrimitive(&binary, name), [(DNNL_ARG_SRC_0, a), (DNNL_ARG_SRC_1, b), (DNNL_ARG_DST, destination)])
}

/// Whether oneDNN 2.6's binary kernel (`jit:uni`) adds correctly in this layout. It assumes that a
/// blocked layout's channel block equals its vector width (16 floats on AVX-512, 8 on AVX2) and
/// that there are no padded channels: on AVX-512 with 8-channel blocks and a width that is not a
/// multiple of 16, its post-op path writes past the end of the tensor (fixed in oneDNN 2.7, commit
/// 5d95731c45); with padded channels it adds only part of the tensor. So it is used only where
/// neither can happen: no padding and a channel count that every vector width divides. Other
/// widths (8, 24, 40, odd ones) take the sum primitive, which is slower but exact everywhere.
func binaryKernelIsSafe(for desc: dnnl_memory_desc_t) -> Bool {
    let dims = entries(desc.dims, Int(desc.ndims)), padded = entries(desc.padded_dims, Int(desc.ndims))
    return dims == padded && dims.count > 1 && dims[1] % 16 == 0
}

/// What the fused kernels' builders share: the forward and backward step lists, and the copies
/// that move a memory into the layout a primitive asks for.
class ProgramBuilder {
    var forwardSteps: [DNNLStep] = [], backwardSteps: [DNNLStep] = []
    /// Forward copies already made of a memory in another layout, so two readers share one reorder.
    private var copies: [(original: DNNLMemory, copy: DNNLMemory)] = []

    /// `memory` in layout `desc` for the forward pass: itself, or one copy made by a reorder.
    func forwardCopy(_ memory: DNNLMemory, as desc: dnnl_memory_desc_t) throws(OneDNNError) -> DNNLMemory {
        if sameLayout(memory.desc, desc) { return memory }
        if let made = copies.first(where: { $0.original === memory && sameLayout($0.copy.desc, desc) }) { return made.copy }
        let copy = try DNNLMemory(desc, owning: true)
        forwardSteps.append(try reorderStep(memory, copy))
        copies.append((memory, copy))
        return copy
    }

    /// `memory` in layout `desc` for the backward pass: itself, or a copy made by a reorder step.
    func backwardCopy(_ memory: DNNLMemory, as desc: dnnl_memory_desc_t) throws(OneDNNError) -> DNNLMemory {
        if sameLayout(memory.desc, desc) { return memory }
        let copy = try DNNLMemory(desc, owning: true)
        backwardSteps.append(try reorderStep(memory, copy))
        return copy
    }
}
