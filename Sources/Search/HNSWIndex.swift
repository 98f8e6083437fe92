import CPrefetch
import CVectorKernels
import Foundation
import Tensors

/// Build and search settings of a hierarchical navigable small world graph (Malkov & Yashunin).
public struct HNSWParameters: Sendable, Equatable {
    /// Links per node on the upper layers; the base layer keeps up to 2M.
    public var m: Int
    /// Candidates kept while linking a new node: larger builds slower and finds better links.
    public var efConstruction: Int
    /// Candidates kept while searching (at least k): larger is slower and more exact.
    public var efSearch: Int
    /// Seeds the layer draws, so the same items added in the same order build the same graph.
    public var seed: UInt64

    public init(m: Int = 16, efConstruction: Int = 200, efSearch: Int = 64, seed: UInt64 = 42) {
        precondition(m >= 2 && efConstruction >= 1 && efSearch >= 1, "HNSW needs m ≥ 2, efConstruction ≥ 1, efSearch ≥ 1")
        self.m = m
        self.efConstruction = efConstruction
        self.efSearch = efSearch
        self.seed = seed
    }
}

/// Approximate search on an HNSW graph: a greedy walk down sparse upper layers to a good entry
/// point, then a best-first search of the base layer keeping `efSearch` candidates. Items are
/// added one at a time (incremental); a removed item is marked and still routes searches but is
/// never returned. Similarities are dot products. `ReferenceHNSW` is the same algorithm written
/// plainly, for the tests.
public final class HNSWIndex: VectorIndex {
    public static let kind = IndexKind.hnsw
    public let dimension: Int
    public var parameters: HNSWParameters
    var generator: RandomGenerator
    /// Row-major [nodes, dimension], on huge pages like `base`: a search reads both all over.
    let vectors = HugePageStorage<Float>()
    var nodeIDs: [Int] = []
    var nodeOf: [Int: Int32] = [:]
    var deleted: [Bool] = []
    var levels: [UInt8] = []
    /// Base-layer links, `baseStride` slots per node: the count, then up to 2M neighbours.
    let base = HugePageStorage<Int32>()
    /// Upper-layer links of each node above level 0: per level the count, then up to M neighbours.
    var upper: [[Int32]] = []
    var entry: Int32 = -1
    var topLevel = -1
    var liveCount = 0
    let scratchPool = ScratchPool()

    var baseCapacity: Int { 2 * parameters.m }
    var baseStride: Int { 2 * parameters.m + 1 }
    var upperStride: Int { parameters.m + 1 }

    public init(dimension: Int, parameters: HNSWParameters = HNSWParameters()) {
        self.dimension = dimension
        self.parameters = parameters
        self.generator = RandomGenerator(seed: parameters.seed)
    }

    public var count: Int { liveCount }
    public var ids: [Int] { nodeIDs.indices.filter { !deleted[$0] }.map { nodeIDs[$0] } }
    var nodeCount: Int { nodeIDs.count }
}
