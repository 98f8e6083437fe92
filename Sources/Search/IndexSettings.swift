import Foundation

/// Which index a gallery searches with, as `akin index build` chose it; stored in the gallery.
public struct IndexSettings: Codable, Sendable, Equatable {
    public var kind: String
    public var m: Int?
    public var efConstruction: Int?
    public var efSearch: Int?
    public var seed: UInt64?

    public init(kind: String, m: Int? = nil, efConstruction: Int? = nil, efSearch: Int? = nil, seed: UInt64? = nil) {
        self.kind = kind
        self.m = m
        self.efConstruction = efConstruction
        self.efSearch = efSearch
        self.seed = seed
    }

    public var hnswParameters: HNSWParameters {
        let defaults = HNSWParameters()
        return HNSWParameters(m: m ?? defaults.m, efConstruction: efConstruction ?? defaults.efConstruction,
                              efSearch: efSearch ?? defaults.efSearch, seed: seed ?? defaults.seed)
    }

    /// An empty index of this kind.
    public func makeIndex(dimension: Int) throws -> any VectorIndex {
        switch kind {
        case FlatIndex.kind: return FlatIndex(dimension: dimension)
        case HNSWIndex.kind: return HNSWIndex(dimension: dimension, parameters: hnswParameters)
        default: throw IndexFileError.unknownKind(kind)
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
        return true
    }
}
