import Tensors

enum VectorMath {
    /// Scales a vector to unit length in place (a zero vector stays zero).
    static func normalize(_ v: UnsafeMutablePointer<Float>, count: Int) {
        let norm = Elementwise.dot(v, v, count: count).squareRoot()
        guard norm > 0 else { return }
        let scale = 1 / norm
        for j in 0..<count { v[j] *= scale }
    }

    /// Σ a·b with two independent accumulators, so consecutive products do not wait on one
    /// running sum (graph search spends its time here, on short vectors).
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var even = SIMD8<Float>(repeating: 0), odd = SIMD8<Float>(repeating: 0)
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        var i = 0
        while i + 16 <= count {
            even += ra.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            odd += ra.loadUnaligned(fromByteOffset: 4 * i + 32, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: 4 * i + 32, as: SIMD8<Float>.self)
            i += 16
        }
        if i + 8 <= count {
            even += ra.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        var sum = (even + odd).sum()
        while i < count { sum += a[i] * b[i]; i += 1 }
        return sum
    }
}
