/// SIMD elementwise kernels over raw buffers: eight lanes at a time, then the remainder.
public enum Elementwise {
    public static func relu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        let zero = SIMD8<Float>(repeating: 0)
        var i = 0
        while i + 8 <= count {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(y + i).storeBytes(of: pointwiseMax(v, zero), as: SIMD8<Float>.self)
            i += 8
        }
        while i < count { y[i] = max(x[i], 0); i += 1 }
    }

    /// Passes the gradient where the forward output was positive.
    public static func reluBackward(output: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
                                    inputGradient: UnsafeMutablePointer<Float>, count: Int) {
        let zero = SIMD8<Float>(repeating: 0)
        var i = 0
        while i + 8 <= count {
            let o = UnsafeRawPointer(output + i).loadUnaligned(as: SIMD8<Float>.self)
            let g = UnsafeRawPointer(outputGradient + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(inputGradient + i).storeBytes(of: zero.replacing(with: g, where: o .> zero), as: SIMD8<Float>.self)
            i += 8
        }
        while i < count { inputGradient[i] = output[i] > 0 ? outputGradient[i] : 0; i += 1 }
    }

    /// Dot product of two length-n vectors.
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var accumulator = SIMD8<Float>(repeating: 0)
        var i = 0
        while i + 8 <= count {
            let va = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
            let vb = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
            // Not addProduct: without an FMA target it becomes one libm fmaf call per lane.
            accumulator += va * vb
            i += 8
        }
        var sum = accumulator.sum()
        while i < count { sum += a[i] * b[i]; i += 1 }
        return sum
    }

    /// y += scale · x over n values.
    public static func addScaled(_ x: UnsafePointer<Float>, scale: Float, to y: UnsafeMutablePointer<Float>, count: Int) {
        let factor = SIMD8<Float>(repeating: scale)
        var i = 0
        while i + 8 <= count {
            let vx = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            let vy = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(y + i).storeBytes(of: vy + factor * vx, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count { y[i] += scale * x[i]; i += 1 }
    }
}
