import Tensors
import Testing

/// Central differences of a Double reference loss, element by element of `tensor`, against the
/// gradient the fast loss wrote (`analytic`): |numeric − analytic| < 2e-3 · max(1, |numeric|).
public func expectMatchesFiniteDifferences(_ tensor: Tensor, analytic: [Float], step h: Float = 1e-3, reference: () -> Double,
                                    sourceLocation: SourceLocation = #_sourceLocation) {
    for i in 0..<tensor.count {
        let saved = tensor[i]
        tensor[i] = saved + h
        let plus = reference()
        tensor[i] = saved - h
        let minus = reference()
        tensor[i] = saved
        let numeric = (plus - minus) / Double(2 * h)
        #expect(abs(numeric - Double(analytic[i])) < 2e-3 * max(1, abs(numeric)), "element \(i): \(numeric) vs \(analytic[i])",
                sourceLocation: sourceLocation)
    }
}
