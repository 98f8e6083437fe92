import Foundation
import Search
import Tensors

enum IndexFuzzing {
    /// The input is an index file without its mark and checksum: the target adds both, so the
    /// fuzzer spends its time on the structure a hostile file could carry behind a valid checksum.
    static let mark = Data("AKINIDX\0".utf8)

    static func run(_ data: Data) {
        guard let (index, _) = try? IndexFile.decode(IndexFile.sealed(mark + data), path: "fuzz.index") else { return }
        fuzzCheck(index.dimension > 0, "dimension \(index.dimension)")
        fuzzCheck(index.ids.count == index.count, "\(index.ids.count) ids for a count of \(index.count)")
        guard index.dimension <= 4096 else { return }
        let queries = Tensor(shape: [2, index.dimension])
        for i in 0..<queries.count { queries.pointer[i] = Float((i * 7919) % 13) - 6 }
        for k in [1, 10] {
            let hits = index.search(queries, k: k)
            fuzzCheck(hits.count == 2, "\(hits.count) result lists for 2 queries")
            let known = Set(index.ids)
            for list in hits {
                fuzzCheck(list.count <= min(k, index.count), "\(list.count) hits for k \(k) and \(index.count) items")
                fuzzCheck(list.allSatisfy { known.contains($0.index) }, "a hit on an id the index does not hold")
            }
        }
    }
}
