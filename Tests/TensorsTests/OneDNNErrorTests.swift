import CDNNL
@testable import Tensors
import Testing

/// oneDNN failures reach the caller as `OneDNNError`, naming the step and its shapes, instead of
/// stopping the process; a memory bound in another layout than the primitive's is refused.
@Suite("oneDNN errors are thrown, not trapped")
struct OneDNNErrorTests {
    @Test func aConvolutionOneDNNRefusesIsAnError() throws {
        // A destination that does not follow from the source and the kernel: oneDNN refuses it.
        var source = try plainLayout([2, 3, 5, 5], dnnl_nchw), weights = try plainLayout([4, 3, 3, 3], dnnl_oihw)
        var destination = try plainLayout([2, 4, 9, 9], dnnl_nchw)
        var convolution = dnnl_convolution_desc_t()
        #expect {
            try check(dnnl_convolution_forward_desc_init(&convolution, dnnl_forward_training, dnnl_convolution_direct, &source, &weights,
                                                         nil, &destination, [1, 1], [1, 1], [1, 1]),
                      "describe convolution c [2, 3, 5, 5] → [2, 4, 9, 9]")
        } throws: { error in
            guard case let .failed(operation, status, instructionSet) = error as? OneDNNError else { return false }
            return operation.contains("convolution c [2, 3, 5, 5]") && status == "invalid_arguments" && !instructionSet.isEmpty
                && "\(error)".contains("DNNL_VERBOSE=1")
        }
    }

    @Test func memoryInAnotherLayoutIsRefusedBeforeAnythingRuns() throws {
        let dims = [2, 8, 4, 4]
        var data = try plainLayout(dims, dnnl_nchw)
        var relu = dnnl_eltwise_desc_t()
        try check(dnnl_eltwise_forward_desc_init(&relu, dnnl_forward_inference, dnnl_eltwise_relu, &data, 0, 0), "describe a ReLU")
        let primitive = try DNNLPrimitive(&relu, "a ReLU")
        let plain = try DNNLMemory(data, owning: true), blocked = try DNNLMemory(plainLayout(dims, dnnl_nChw8c), owning: true)
        #expect(throws: Never.self) { _ = try DNNLProgram([(primitive, [(DNNL_ARG_SRC, plain), (DNNL_ARG_DST, plain)])]) }
        #expect {
            _ = try DNNLProgram([(primitive, [(DNNL_ARG_SRC, plain), (DNNL_ARG_DST, blocked)])])
        } throws: { error in
            guard case let .layoutMismatch(name, argument, expected, bound, _) = error as? OneDNNError else { return false }
            return name == "a ReLU" && argument == "destination" && expected == "abcd [2, 8, 4, 4]" && bound == "aBcd8b [2, 8, 4, 4]"
        }
    }

    /// Buffers are sized by oneDNN's descriptors, padding included: five channels in 16-channel
    /// blocks take 16 channels' room.
    @Test func paddedLayoutsAreSizedByOneDNN() throws {
        let memory = try DNNLMemory(plainLayout([2, 5, 3, 3], dnnl_nChw16c), owning: true)
        #expect(memory.byteCount == 2 * 16 * 3 * 3 * 4)
        #expect(memory.dims == [2, 5, 3, 3])
    }
}
