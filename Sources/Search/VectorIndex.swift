import Tensors

/// A searchable set of vectors keyed by gallery item id. Every kind answers the same questions,
/// so the exact index can be the reference the approximate ones are measured against.
/// Similarities are dot products: the gallery hands in unit-length vectors for cosine.
public protocol VectorIndex: AnyObject {
    /// The name stored in index files and given to `akin index build --kind`.
    static var kind: IndexKind { get }
    var dimension: Int { get }
    /// Items that can be returned (removed ones excluded).
    var count: Int { get }
    /// The ids that can be returned, in no particular order.
    var ids: [Int] { get }
    /// Adds `ids.count` vectors ([ids.count, dimension], row i for ids[i]). An id already present is a programming error.
    func add(ids: [Int], vectors: UnsafePointer<Float>)
    /// Removes these ids; unknown ids are ignored.
    func remove(ids: [Int])
    /// The k best hits per row of `queries` ([Q, dimension]), best first; `SearchHit.index` is the item id.
    func search(_ queries: Tensor, k: Int) -> [[SearchHit]]
    /// The index's own content, for `IndexFile` to wrap with a header and checksum.
    func encode(into writer: inout BinaryWriter)
    static func decode(from reader: inout BinaryReader, dimension: Int) throws -> Self
}
