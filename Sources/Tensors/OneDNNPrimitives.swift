import CDNNL

// Every oneDNN call in Akin lives in the Tensors/OneDNN*.swift and *Kernel.swift files, so that
// moving to oneDNN 3.x's API (where operation descriptors are gone and primitive descriptors are
// created directly) touches only them.
//
// Rules these files keep, because oneDNN chooses differently on every CPU (nChw8c blocks on AVX2,
// nChw16c on AVX-512, plain layouts for some shapes, padded channels when a width is not a
// multiple of the block): layouts are left to oneDNN (`format_tag_any`) and read back from the
// primitive descriptor; every buffer is sized by `dnnl_memory_desc_get_size` of the descriptor
// that uses it; every argument bound to a primitive is checked against the layout the primitive
// asks for (`DNNLProgram`); and each kernel brings its own scratchpad, since oneDNN's
// library-managed one is shared per thread and a primitive may run on another thread than the
// one that created it (Swift concurrency moves work between threads).

/// The CPU engine, created once for the process; nil (and the error) if oneDNN cannot make one.
nonisolated(unsafe) private let engineResult: Result<dnnl_engine_t, OneDNNError> = {
    var engine: dnnl_engine_t?
    return Result { () throws(OneDNNError) in
        try check(dnnl_engine_create(&engine, dnnl_cpu, 0), "create the CPU engine")
        return engine!
    }
}()

func cpuEngine() throws(OneDNNError) -> dnnl_engine_t { try engineResult.get() }

/// A stream to run primitives on, destroyed with its owner.
final class DNNLStream {
    let stream: dnnl_stream_t

    init() throws(OneDNNError) {
        var s: dnnl_stream_t?
        try check(dnnl_stream_create(&s, try cpuEngine(), UInt32(dnnl_stream_default_flags.rawValue)), "create a stream")
        stream = s!
    }

    deinit { dnnl_stream_destroy(stream) }
}

/// A buffer aligned for oneDNN's kernels, freed with its owner.
final class AlignedBuffer {
    let pointer: UnsafeMutableRawPointer
    let byteCount: Int

    init(byteCount: Int) {
        self.byteCount = byteCount
        // 4096: oneDNN's own allocations are page aligned; its kernels need 64.
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 4096)
    }

    deinit { pointer.deallocate() }
}

/// A memory object: either owning a buffer in the layout of `desc`, or a view attached to a
/// buffer someone else owns (a caller's plain tensor, an arena) before each run.
final class DNNLMemory {
    let memory: dnnl_memory_t
    let desc: dnnl_memory_desc_t
    private(set) var pointer: UnsafeMutableRawPointer?

    init(_ desc: dnnl_memory_desc_t, owning: Bool) throws(OneDNNError) {
        var d = desc
        var m: dnnl_memory_t?
        // DNNL_MEMORY_ALLOCATE is (void *)-1: oneDNN allocates (and pads) a buffer of the layout's own size.
        try check(dnnl_memory_create(&m, &d, try cpuEngine(), owning ? UnsafeMutableRawPointer(bitPattern: UInt.max) : nil),
                  "create memory for \(layoutText(desc))")
        memory = m!
        self.desc = desc
        if owning {
            var handle: UnsafeMutableRawPointer?
            try check(dnnl_memory_get_data_handle(memory, &handle), "read a buffer's address")
            pointer = handle
        }
    }

    /// The logical shape ([N, C, H, W] for activations).
    var dims: [Int] { entries(desc.dims, Int(desc.ndims)).map(Int.init) }

    /// Bytes the layout needs, padding included.
    var byteCount: Int { var d = desc; return dnnl_memory_desc_get_size(&d) }

    func attach(_ buffer: UnsafeMutableRawPointer) throws(OneDNNError) {
        // Also zeroes a blocked layout's padded channels, which every kernel then keeps at zero.
        try check(dnnl_memory_set_data_handle(memory, buffer), "attach a buffer to \(layoutText(desc))")
        pointer = buffer
    }

    deinit { dnnl_memory_destroy(memory) }
}

/// A primitive and its descriptor. Every primitive Akin makes uses the user-managed scratchpad
/// (see the top of this file); `DNNLProgram` provides it.
final class DNNLPrimitive {
    let descriptor: dnnl_primitive_desc_t
    let primitive: dnnl_primitive_t
    /// What it computes, with its shapes, for error messages.
    let name: String

    /// Creates the primitive an operation descriptor (`dnnl_convolution_desc_t`, …) describes;
    /// `hint` is the forward primitive a backward one follows; `postOp` fuses an elementwise
    /// function (ReLU, clip) after it.
    convenience init<Operation>(_ operation: inout Operation, _ name: String, hint: DNNLPrimitive? = nil,
                                postOp: EltwiseFunction? = nil) throws(OneDNNError) {
        let attributes = try Self.attributes(postOp: postOp)
        defer { dnnl_primitive_attr_destroy(attributes) }
        var pd: dnnl_primitive_desc_t?
        let engine = try cpuEngine()
        let status = withUnsafePointer(to: &operation) { dnnl_primitive_desc_create(&pd, $0, attributes, engine, hint?.descriptor) }
        try check(status, "create \(name)")
        try self.init(taking: pd!, name)
    }

    /// A reorder: copies memory of layout `from` into memory of layout `to`.
    convenience init(reorderFrom from: dnnl_memory_desc_t, to: dnnl_memory_desc_t) throws(OneDNNError) {
        let name = "a reorder from \(layoutText(from)) to \(layoutText(to))"
        let attributes = try Self.attributes(postOp: nil)
        defer { dnnl_primitive_attr_destroy(attributes) }
        var pd: dnnl_primitive_desc_t?
        var a = from, b = to
        let engine = try cpuEngine()
        try check(dnnl_reorder_primitive_desc_create(&pd, &a, engine, &b, engine, attributes), "create \(name)")
        try self.init(taking: pd!, name)
    }

    /// A sum: the destination (layout `destination`) gets the sum of every source.
    convenience init(sumOf sources: [dnnl_memory_desc_t], into destination: dnnl_memory_desc_t, _ name: String) throws(OneDNNError) {
        let attributes = try Self.attributes(postOp: nil)
        defer { dnnl_primitive_attr_destroy(attributes) }
        var pd: dnnl_primitive_desc_t?
        var d = destination
        let scales = [Float](repeating: 1, count: sources.count)
        try check(dnnl_sum_primitive_desc_create(&pd, &d, Int32(sources.count), scales, sources, attributes, try cpuEngine()),
                  "create \(name)")
        try self.init(taking: pd!, name)
    }

    private init(taking descriptor: dnnl_primitive_desc_t, _ name: String) throws(OneDNNError) {
        var p: dnnl_primitive_t?
        let status = dnnl_primitive_create(&p, descriptor)
        guard status == dnnl_success, let p else {
            dnnl_primitive_desc_destroy(descriptor)
            throw .failed(operation: "instantiate \(name)", status: String(cString: dnnl_status2str(status)),
                          instructionSet: oneDNNInstructionSet)
        }
        self.descriptor = descriptor
        primitive = p
        self.name = name
    }

    private static func attributes(postOp: EltwiseFunction?) throws(OneDNNError) -> dnnl_primitive_attr_t? {
        var attributes: dnnl_primitive_attr_t?
        try check(dnnl_primitive_attr_create(&attributes), "create primitive attributes")
        do {
            try check(dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user), "ask for a user scratchpad")
            if let postOp {
                var postOps: dnnl_post_ops_t?
                try check(dnnl_post_ops_create(&postOps), "create post-ops")
                defer { dnnl_post_ops_destroy(postOps) }
                try check(dnnl_post_ops_append_eltwise(postOps, 1, postOp.forward, postOp.alpha, postOp.beta), "append \(postOp.name) as a post-op")
                try check(dnnl_primitive_attr_set_post_ops(attributes, postOps), "set post-ops")
            }
        } catch {
            dnnl_primitive_attr_destroy(attributes)
            throw error
        }
        return attributes
    }

    /// The name of the implementation oneDNN chose ("jit_dw:avx2", "x64:gemm:jit", "ref:any", …).
    var implementation: String {
        var name: UnsafePointer<CChar>?
        guard dnnl_primitive_desc_query(descriptor, dnnl_query_impl_info_str, 0, &name) == dnnl_success, let name else { return "" }
        return String(cString: name)
    }

    /// The layout the primitive chose for one of its memories (a zero descriptor when it has none).
    func layout(_ query: dnnl_query_t) -> dnnl_memory_desc_t {
        dnnl_primitive_desc_query_md(descriptor, query, 0)?.pointee ?? dnnl_memory_desc_t()
    }

    /// The layout the primitive expects for execution argument `argument` (DNNL_ARG_…).
    func layout(argument: Int32) -> dnnl_memory_desc_t {
        dnnl_primitive_desc_query_md(descriptor, dnnl_query_exec_arg_md, argument)?.pointee ?? dnnl_memory_desc_t()
    }

    deinit {
        dnnl_primitive_destroy(primitive)
        dnnl_primitive_desc_destroy(descriptor)
    }
}

func plainLayout(_ dims: [Int], _ tag: dnnl_format_tag_t) throws(OneDNNError) -> dnnl_memory_desc_t {
    var md = dnnl_memory_desc_t()
    try check(dnnl_memory_desc_init_by_tag(&md, Int32(dims.count), dims.map(Int64.init), dnnl_f32, tag), "describe \(shapeText(dims))")
    return md
}

/// A layout left for the primitive to choose.
func anyLayout(_ dims: [Int]) throws(OneDNNError) -> dnnl_memory_desc_t { try plainLayout(dims, dnnl_format_tag_any) }

func sameLayout(_ a: dnnl_memory_desc_t, _ b: dnnl_memory_desc_t) -> Bool {
    var x = a, y = b
    return dnnl_memory_desc_equal(&x, &y) != 0
}

/// One primitive with the memories bound to its arguments: the unit the fused kernels list.
typealias DNNLStep = (primitive: DNNLPrimitive, arguments: [(Int32, DNNLMemory)])

/// A step that copies `from` into `to`, converting the layout.
func reorderStep(_ from: DNNLMemory, _ to: DNNLMemory) throws(OneDNNError) -> DNNLStep {
    (try DNNLPrimitive(reorderFrom: from.desc, to: to.desc), [(DNNL_ARG_FROM, from), (DNNL_ARG_TO, to)])
}

/// A list of steps with their argument arrays built once, so running it allocates nothing. Every
/// bound memory is checked against the layout its primitive asks for, and the steps share one
/// scratchpad, sized by the largest any of them asks for.
final class DNNLProgram {
    /// Keeps the primitives and memories alive: `steps` holds only their C handles.
    private let list: [DNNLStep]
    private let steps: [(dnnl_primitive_t, [dnnl_exec_arg_t])]
    private let scratchpad: AlignedBuffer?
    private let scratchpadViews: [DNNLMemory]

    init(_ list: [DNNLStep]) throws(OneDNNError) {
        for step in list {
            for (argument, memory) in step.arguments {
                let expected = step.primitive.layout(argument: argument)
                guard expected.ndims == 0 || sameLayout(expected, memory.desc) else {
                    throw .layoutMismatch(primitive: step.primitive.name, argument: argumentName(argument),
                                          expected: layoutText(expected), bound: layoutText(memory.desc),
                                          instructionSet: oneDNNInstructionSet)
                }
            }
        }
        let scratchpadLayouts = list.map { $0.primitive.layout(dnnl_query_scratchpad_md) }
        let bytes = scratchpadLayouts.map { layout -> Int in var d = layout; return d.ndims == 0 ? 0 : dnnl_memory_desc_get_size(&d) }.max() ?? 0
        let buffer = bytes > 0 ? AlignedBuffer(byteCount: bytes) : nil
        var views: [DNNLMemory] = []
        var built: [(dnnl_primitive_t, [dnnl_exec_arg_t])] = []
        for (step, layout) in zip(list, scratchpadLayouts) {
            var arguments = step.arguments.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1.memory) }
            if let buffer, layout.ndims > 0 {
                let view = try DNNLMemory(layout, owning: false)
                try view.attach(buffer.pointer)
                views.append(view)
                arguments.append(dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: view.memory))
            }
            built.append((step.primitive.primitive, arguments))
        }
        self.list = list
        steps = built
        scratchpad = buffer
        scratchpadViews = views
    }

    func run(on stream: DNNLStream) throws(OneDNNError) {
        for (primitive, arguments) in steps {
            let status = arguments.withUnsafeBufferPointer { list in
                dnnl_primitive_execute(primitive, stream.stream, Int32(list.count), list.baseAddress)
            }
            try check(status, "run a primitive")
        }
        try check(dnnl_stream_wait(stream.stream), "wait for the stream")
    }
}

private func argumentName(_ argument: Int32) -> String {
    switch argument {
    case DNNL_ARG_SRC: "source"
    case DNNL_ARG_SRC_1: "second source"
    case DNNL_ARG_DST: "destination"
    case DNNL_ARG_WEIGHTS: "weights"
    case DNNL_ARG_BIAS: "bias"
    case DNNL_ARG_MEAN: "mean"
    case DNNL_ARG_VARIANCE: "variance"
    case DNNL_ARG_SCALE: "scale"
    case DNNL_ARG_SHIFT: "shift"
    case DNNL_ARG_WORKSPACE: "workspace"
    case DNNL_ARG_DIFF_SRC: "source gradient"
    case DNNL_ARG_DIFF_DST: "destination gradient"
    case DNNL_ARG_DIFF_WEIGHTS: "weight gradient"
    case DNNL_ARG_DIFF_BIAS: "bias gradient"
    case DNNL_ARG_DIFF_SCALE: "scale gradient"
    case DNNL_ARG_DIFF_SHIFT: "shift gradient"
    default: "argument \(argument)"
    }
}
