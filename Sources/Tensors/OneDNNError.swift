import CDNNL

/// A oneDNN call that failed, or a primitive handed memory in a layout it does not expect. Thrown
/// to the caller instead of stopping the process: a library user must be able to recover from a
/// shape or an instruction set Akin did not foresee.
public enum OneDNNError: Error, CustomStringConvertible, Sendable {
    /// `operation` names the step and its shapes ("create convolution stage1.block0.conv1 …").
    case failed(operation: String, status: String, instructionSet: String)
    /// Akin bound memory described one way to an argument the primitive describes another way.
    case layoutMismatch(primitive: String, argument: String, expected: String, bound: String, instructionSet: String)

    public var description: String {
        switch self {
        case let .failed(operation, status, instructionSet):
            "oneDNN could not \(operation): \(status) (oneDNN's instruction set: \(instructionSet)). "
                + "Run again with DNNL_VERBOSE=1 to see which kernel oneDNN chose; DNNL_MAX_CPU_ISA=AVX2 makes it choose among older ones."
        case let .layoutMismatch(primitive, argument, expected, bound, instructionSet):
            "\(primitive) expects its \(argument) as \(expected), but was given \(bound) (oneDNN's instruction set: \(instructionSet)). "
                + "This is a bug in Akin: please report it with this message."
        }
    }
}

/// The instruction set oneDNN dispatches to in this process (after DNNL_MAX_CPU_ISA).
public var oneDNNInstructionSet: String { String(cString: dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa())) }

func check(_ status: dnnl_status_t, _ what: @autoclosure () -> String) throws(OneDNNError) {
    guard status != dnnl_success else { return }
    throw .failed(operation: what(), status: String(cString: dnnl_status2str(status)), instructionSet: oneDNNInstructionSet)
}

/// "[64, 8, 28, 28]": shapes in error messages.
func shapeText(_ dims: [Int]) -> String { "[" + dims.map(String.init).joined(separator: ", ") + "]" }

/// The first `count` entries of one of oneDNN's fixed-size C arrays (imported as tuples).
func entries<Tuple>(_ tuple: Tuple, _ count: Int) -> [Int64] {
    withUnsafeBytes(of: tuple) { raw in (0..<count).map { raw.load(fromByteOffset: $0 * MemoryLayout<Int64>.stride, as: Int64.self) } }
}

/// A readable name for a memory layout: the format tag it matches, else its strides and blocks.
func layoutText(_ desc: dnnl_memory_desc_t) -> String {
    var d = desc
    guard d.ndims > 0 else { return "no memory" }
    let dims = entries(d.dims, Int(d.ndims))
    let tags: [dnnl_format_tag_t] = [dnnl_x, dnnl_nc, dnnl_nchw, dnnl_nhwc, dnnl_nChw4c, dnnl_nChw8c, dnnl_nChw16c, dnnl_oihw, dnnl_ohwi]
    for tag in tags {
        var candidate = dnnl_memory_desc_t()
        guard dnnl_memory_desc_init_by_tag(&candidate, d.ndims, dims, d.data_type, tag) == dnnl_success else { continue }
        if dnnl_memory_desc_equal(&candidate, &d) != 0 { return "\(String(cString: dnnl_fmt_tag2str(tag))) \(shapeText(dims.map(Int.init)))" }
    }
    guard d.format_kind == dnnl_blocked else { return "\(String(cString: dnnl_fmt_kind2str(d.format_kind))) \(shapeText(dims.map(Int.init)))" }
    let blocking = d.format_desc.blocking
    let blocks = Int(blocking.inner_nblks)
    return "blocked \(shapeText(dims.map(Int.init))), strides \(entries(blocking.strides, dims.count)), "
        + "inner blocks \(entries(blocking.inner_blks, blocks)) over dimensions \(entries(blocking.inner_idxs, blocks))"
}
