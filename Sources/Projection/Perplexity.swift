import Foundation

/// The conditional probabilities p(j|i) ∝ exp(−β·d²ᵢⱼ) of one point's neighbours, with β found by
/// bisection so that their entropy is log(perplexity): scikit-learn's `_binary_search_perplexity`,
/// step for step (start β = 1, tolerance 1e-5, at most 100 steps).
enum Perplexity {
    static func calibrate(squaredDistances d: UnsafeBufferPointer<Double>, perplexity: Double, into p: UnsafeMutableBufferPointer<Double>) {
        let desired = log(perplexity)
        var beta = 1.0, betaMin = -Double.infinity, betaMax = Double.infinity
        for _ in 0..<100 {
            var sum = 0.0
            for j in d.indices { p[j] = exp(-d[j] * beta); sum += p[j] }
            sum = max(sum, 1e-8)
            var weighted = 0.0
            for j in d.indices { p[j] /= sum; weighted += d[j] * p[j] }
            let entropy = log(sum) + beta * weighted
            let difference = entropy - desired
            if abs(difference) <= 1e-5 { break }
            if difference > 0 {
                betaMin = beta
                beta = betaMax == .infinity ? beta * 2 : (beta + betaMax) / 2
            } else {
                betaMax = beta
                beta = betaMin == -.infinity ? beta / 2 : (beta + betaMin) / 2
            }
        }
    }
}
