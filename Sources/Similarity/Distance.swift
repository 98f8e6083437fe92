import Tensors

/// The distance the triplet loss is measured in.
public enum Distance: String, Codable, Sendable, CaseIterable {
    /// Euclidean, √(|a − b|² + ε): the ε keeps the gradient finite (zero) when a = b.
    case l2
    /// 1 − cos(a, b), with ε inside each norm for the same reason.
    case cosine

    static let epsilon: Float = 1e-12

    /// d(a, b) for two vectors of `d` values.
    @inline(__always)
    public func evaluate(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count d: Int) -> Float {
        switch self {
        case .l2:
            var sum: Float = 0
            for j in 0..<d { let diff = a[j] - b[j]; sum += diff * diff }
            return (sum + Self.epsilon).squareRoot()
        case .cosine:
            let na = (Elementwise.dot(a, a, count: d) + Self.epsilon).squareRoot()
            let nb = (Elementwise.dot(b, b, count: d) + Self.epsilon).squareRoot()
            return 1 - Elementwise.dot(a, b, count: d) / (na * nb)
        }
    }

    /// Adds scale · ∂d/∂a to ga and scale · ∂d/∂b to gb.
    @inline(__always)
    public func accumulateGradient(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count d: Int, distance: Float,
                                   scale: Float, _ ga: UnsafeMutablePointer<Float>, _ gb: UnsafeMutablePointer<Float>) {
        switch self {
        case .l2:
            // ∂/∂a √(|a−b|²+ε) = (a − b) / d
            let k = scale / distance
            for j in 0..<d {
                let g = k * (a[j] - b[j])
                ga[j] += g
                gb[j] -= g
            }
        case .cosine:
            // d = 1 − c with c = a·b / (|a||b|); ∂c/∂a = b/(|a||b|) − c·a/|a|²
            let na2 = Elementwise.dot(a, a, count: d) + Self.epsilon
            let nb2 = Elementwise.dot(b, b, count: d) + Self.epsilon
            let inverse = 1 / (na2.squareRoot() * nb2.squareRoot())
            let c = 1 - distance
            for j in 0..<d {
                ga[j] -= scale * (b[j] * inverse - c * a[j] / na2)
                gb[j] -= scale * (a[j] * inverse - c * b[j] / nb2)
            }
        }
    }
}
