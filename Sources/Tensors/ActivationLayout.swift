import CDNNL

/// How the fused kernels (`ConvolutionStackKernel`, `ResidualNetworkKernel`) lay out the
/// activations between their primitives. By default oneDNN chooses, and it chooses per CPU:
/// 8-channel blocks on AVX2, 16-channel blocks on AVX-512, plain layouts for some shapes. Forcing
/// a layout that this CPU's kernels would not choose (16-channel blocks on an AVX2 machine) runs
/// Akin's own code — buffer sizes, reorders, padded channels — on the layouts other CPUs get;
/// oneDNN then uses its reference kernels, which are slow but exact. Tests use this; nothing
/// else needs to.
public enum ActivationLayout: String, Sendable, CaseIterable {
    case chosenByOneDNN
    case nchw
    case nhwc
    /// nChw8c: channels in blocks of 8, the last block padded with zeros.
    case blocked8
    /// nChw16c: channels in blocks of 16, the last block padded with zeros.
    case blocked16

    /// The descriptor for activations of shape `dims` ([N, C, H, W]): `format_tag_any` when
    /// oneDNN chooses.
    func layout(_ dims: [Int]) throws(OneDNNError) -> dnnl_memory_desc_t {
        switch self {
        case .chosenByOneDNN: try anyLayout(dims)
        case .nchw: try plainLayout(dims, dnnl_nchw)
        case .nhwc: try plainLayout(dims, dnnl_nhwc)
        case .blocked8: try plainLayout(dims, dnnl_nChw8c)
        case .blocked16: try plainLayout(dims, dnnl_nChw16c)
        }
    }
}
