import Foundation

/// Which index a gallery searches with, as `akin index build` chose it; stored in the gallery.
public struct IndexSettings: Codable, Sendable, Equatable {
    public var kind: IndexKind
    public var m: Int?
    public var efConstruction: Int?
    public var efSearch: Int?
    public var seed: UInt64?
    /// IVF-PQ: coarse cells, sub-quantisers (bytes per code) and cells searched per query.
    public var lists: Int?
    public var subquantizers: Int?
    public var probe: Int?
    /// sq8 and IVF-PQ: candidates re-ranked with exact vectors per query.
    public var rerank: Int?
    /// sq8 and IVF-PQ: the items the quantiser learned from when the index was last built (nil:
    /// not recorded, from a gallery older than the record).
    public var trainedOn: Int?

    /// A compressed index is retrained once the gallery holds more than this many times the items
    /// its quantiser learned from: ranges and codebooks learned from a few items misplace the rest.
    public static let retrainingFactor = 4

    /// The largest `m` an index may have (its file's limit too): links per node beyond it only cost memory.
    public static let maximumM = 4096

    /// Why no index of `dimension` can be built with these settings (a hand-edited gallery's), nil when one can.
    public func problem(dimension: Int) -> String? {
        if let subquantizers, subquantizers >= 1, dimension % subquantizers != 0 {
            return "subquantizers is \(subquantizers), which does not divide the dimension \(dimension)"
        }
        if let m, !(2...Self.maximumM).contains(m) { return "m is \(m), not 2 to \(Self.maximumM)" }
        for (name, value) in [("efConstruction", efConstruction), ("efSearch", efSearch), ("lists", lists),
                              ("subquantizers", subquantizers), ("probe", probe), ("rerank", rerank)] {
            if let value, value < 1 { return "\(name) is \(value), not positive" }
        }
        if let trainedOn, trainedOn < 0 { return "trainedOn is \(trainedOn), not a count" }
        return nil
    }

    /// Whether an index of these settings should be rebuilt for a gallery of `count` items.
    public func needsRetraining(count: Int) -> Bool {
        guard kind == .sq8 || kind == .ivfpq, let trainedOn else { return false }
        return count > Self.retrainingFactor * trainedOn
    }

    public init(kind: IndexKind, m: Int? = nil, efConstruction: Int? = nil, efSearch: Int? = nil, seed: UInt64? = nil,
                lists: Int? = nil, subquantizers: Int? = nil, probe: Int? = nil, rerank: Int? = nil) {
        self.kind = kind
        self.m = m
        self.efConstruction = efConstruction
        self.efSearch = efSearch
        self.seed = seed
        self.lists = lists
        self.subquantizers = subquantizers
        self.probe = probe
        self.rerank = rerank
    }

    public var hnswParameters: HNSWParameters {
        let defaults = HNSWParameters()
        return HNSWParameters(m: m ?? defaults.m, efConstruction: efConstruction ?? defaults.efConstruction,
                              efSearch: efSearch ?? defaults.efSearch, seed: seed ?? defaults.seed)
    }

    public var ivfpqParameters: IVFPQParameters {
        let defaults = IVFPQParameters()
        return IVFPQParameters(lists: lists ?? defaults.lists, subquantizers: subquantizers ?? defaults.subquantizers,
                               probe: probe ?? defaults.probe, rerank: rerank ?? defaults.rerank, seed: seed ?? defaults.seed)
    }

    /// An empty index of this kind.
    public func makeIndex(dimension: Int) throws -> any VectorIndex {
        switch kind {
        case .flat: return FlatIndex(dimension: dimension)
        case .hnsw: return HNSWIndex(dimension: dimension, parameters: hnswParameters)
        case .sq8: return SQ8Index(dimension: dimension, rerank: rerank ?? SQ8Index.defaultRerank)
        case .ivfpq: return IVFPQIndex(dimension: dimension, parameters: ivfpqParameters)
        }
    }

    /// Whether `index` was built the way these settings ask (search-time settings aside).
    func built(_ index: any VectorIndex) -> Bool {
        guard type(of: index).kind == kind else { return false }
        if let hnsw = index as? HNSWIndex {
            let wanted = hnswParameters
            return hnsw.parameters.m == wanted.m && hnsw.parameters.efConstruction == wanted.efConstruction
                && hnsw.parameters.seed == wanted.seed
        }
        if let ivfpq = index as? IVFPQIndex {
            let built = ivfpq.parameters
            return (lists == nil || lists == built.lists) && (subquantizers == nil || subquantizers == built.subquantizers)
                && (seed ?? IVFPQParameters().seed) == built.seed
        }
        return true
    }

    /// Puts the search-time settings (HNSW's efSearch, the compressed indexes' probe and re-rank depth)
    /// on a loaded index, and gives a compressed one the store to re-rank from.
    public func prepare(_ index: any VectorIndex, source: (any ExactVectorSource)?) {
        if let hnsw = index as? HNSWIndex, let efSearch { hnsw.parameters.efSearch = efSearch }
        if let sq8 = index as? SQ8Index, let rerank { sq8.rerank = rerank }
        if let ivfpq = index as? IVFPQIndex {
            if let probe { ivfpq.parameters.probe = probe }
            if let rerank { ivfpq.parameters.rerank = rerank }
        }
        if let compressed = index as? any CompressedIndex { compressed.exactSource = source }
    }
}
