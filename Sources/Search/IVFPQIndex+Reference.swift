import Foundation
import Tensors

/// The plain version the tests hold the fast one to.
extension IVFPQIndex {
    /// The approximate similarity of a query to the item at position `position` of cell `cell`,
    /// by decoding its vector and taking the dot product in plain loops.
    func referenceSimilarity(_ query: [Float], cell: Int, position: Int) -> Float {
        let d = dimension, sq = subquantizers, ds = subDimension
        var decoded = Array(centroids[(cell * d)..<(cell * d + d)])
        for s in 0..<sq {
            let word = Int(listCodes[cell][position * sq + s])
            for t in 0..<ds { decoded[s * ds + t] += codebooks[(s * codewords + word) * ds + t] }
        }
        return zip(query, decoded).reduce(0) { $0 + $1.0 * $1.1 }
    }
}
