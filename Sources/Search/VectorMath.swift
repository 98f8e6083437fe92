import CVectorKernels
import Tensors

enum VectorMath {
    /// Scales a vector to unit length in place (a zero vector stays zero).
    static func normalize(_ v: UnsafeMutablePointer<Float>, count: Int) {
        let norm = Elementwise.dot(v, v, count: count).squareRoot()
        guard norm > 0 else { return }
        let scale = 1 / norm
        for j in 0..<count { v[j] *= scale }
    }

    /// Σ a·b, with AVX2+FMA when the CPU has them (CVectorKernels).
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        akin_dot(a, b, count)
    }
}
