import Foundation
import Search
import Tensors
import Testing

/// A compressed index whose exact vectors cannot be read says so instead of passing approximate
/// similarities off as exact ones.
@Suite("Re-ranking failures")
struct RerankFailureTests {
    struct Unreadable: Error {}

    final class FailingSource: ExactVectorSource {
        var vanish = false
        func exactVectors(ids: [Int]) throws -> Tensor? {
            if vanish { return nil }
            throw Unreadable()
        }
    }

    @Test func aSourceThatFailsOrLosesItemsIsReported() {
        let base = unitVectors(300, 8, seed: 1), queries = unitVectors(3, 8, seed: 2)
        for index in [SQ8Index(dimension: 8) as any CompressedIndex, IVFPQIndex(dimension: 8, parameters: IVFPQParameters(lists: 4, subquantizers: 4, probe: 4)) as any CompressedIndex] {
            index.train(base.pointer, count: 300)
            index.add(ids: Array(0..<300), vectors: base.pointer)
            let source = FailingSource()
            index.exactSource = source
            let hits = index.search(queries, k: 5)
            #expect(hits.allSatisfy { $0.count == 5 }, "the approximate hits are still there")
            guard case .unreadable = index.rerankFailure else {
                Issue.record("\(type(of: index)): no failure reported: \(String(describing: index.rerankFailure))")
                continue
            }
            source.vanish = true
            _ = index.search(queries, k: 5)
            guard case .vanished = index.rerankFailure else {
                Issue.record("\(type(of: index)): vanished items not reported")
                continue
            }
            index.exactSource = FlatIndex(rows: base)
            _ = index.search(queries, k: 5)
            #expect(index.rerankFailure == nil, "a search that re-ranks clears it")
        }
    }
}
