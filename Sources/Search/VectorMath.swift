import CVectorKernels
import Tensors

enum VectorMath {
    /// Scales a vector to unit length in place (a zero vector stays zero): `RowNormalization.unitLength`.
    static func normalize(_ v: UnsafeMutablePointer<Float>, count: Int) {
        RowNormalization.unitLength(v, rows: 1, columns: count)
    }

    /// Σ a·b, with AVX2+FMA when the CPU has them (CVectorKernels).
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        akin_dot(a, b, count)
    }
}
