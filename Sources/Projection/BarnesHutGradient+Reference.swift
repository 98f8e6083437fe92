import Foundation

/// The reference t-SNE gradient over every pair, O(N²): 4 Σⱼ (pᵢⱼ − qᵢⱼ) (1 + ‖yᵢ − yⱼ‖²)⁻¹ (yᵢ − yⱼ).
enum ExactGradient {
    static func compute(_ p: [Double], _ y: UnsafePointer<Double>, n: Int, exaggeration: Double, into grad: UnsafeMutablePointer<Double>) {
        var kernel = [Double](repeating: 0, count: n * n)
        var z = 0.0
        for i in 0..<n {
            for j in 0..<n where j != i {
                let dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1]
                kernel[i * n + j] = 1 / (1 + dx * dx + dy * dy)
                z += kernel[i * n + j]
            }
        }
        for i in 0..<n {
            var gx = 0.0, gy = 0.0
            for j in 0..<n where j != i {
                let w = (exaggeration * p[i * n + j] - kernel[i * n + j] / z) * kernel[i * n + j]
                gx += w * (y[2 * i] - y[2 * j]); gy += w * (y[2 * i + 1] - y[2 * j + 1])
            }
            grad[2 * i] = 4 * gx; grad[2 * i + 1] = 4 * gy
        }
    }

    static func divergence(_ p: [Double], _ y: [Double], n: Int) -> Double {
        var z = 0.0
        for i in 0..<n { for j in 0..<n where j != i { z += 1 / (1 + squaredDistance(y, i, j)) } }
        var kl = 0.0
        for i in 0..<n {
            for j in 0..<n where j != i && p[i * n + j] > 0 {
                let q = max(1 / (1 + squaredDistance(y, i, j)) / z, Double.ulpOfOne)
                kl += p[i * n + j] * log(max(p[i * n + j], Double.ulpOfOne) / q)
            }
        }
        return kl
    }

    private static func squaredDistance(_ y: [Double], _ i: Int, _ j: Int) -> Double {
        let dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1]
        return dx * dx + dy * dy
    }
}
