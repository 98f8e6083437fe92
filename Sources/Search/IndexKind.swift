/// The kinds of vector index a gallery can search with. The raw value is the kind's name on the
/// command line (`--kind`), in the gallery's stored settings and in index files.
public enum IndexKind: String, Codable, CaseIterable, Sendable {
    /// Exact: every vector scored (`FlatIndex`).
    case flat
    /// A navigable small-world graph (`HNSWIndex`).
    case hnsw
    /// One byte a value, re-ranked with the exact vectors (`SQ8Index`).
    case sq8
    /// Inverted lists of product-quantised codes, re-ranked (`IVFPQIndex`).
    case ivfpq

    /// The index type that implements this kind.
    public var indexType: any VectorIndex.Type {
        switch self {
        case .flat: FlatIndex.self
        case .hnsw: HNSWIndex.self
        case .sq8: SQ8Index.self
        case .ivfpq: IVFPQIndex.self
        }
    }
}
