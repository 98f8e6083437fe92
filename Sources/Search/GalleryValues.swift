import Foundation

/// How a gallery scores a query against an item: a similarity, higher is closer (unlike the loss's
/// `Distance`, lower is closer). Both are a dot product; `cosine` stores and queries unit-length
/// vectors, so the dot product is the cosine similarity. Its name on the command line and in the
/// gallery file is still "distance", as pgvector and Qdrant call the choice.
public enum GallerySimilarity: String, Sendable, CaseIterable {
    case cosine
    case innerProduct = "inner-product"
}

/// What a gallery knows about itself: set once at creation, except the threshold.
public struct GalleryInfo: Sendable, Equatable {
    /// Fingerprint of the embedding model that made the vectors; nil for a gallery of vectors brought from elsewhere.
    public var modelFingerprint: String?
    public var dimension: Int
    public var similarity: GallerySimilarity
    /// Similarity under which a query's best hit is "no match" (`akin calibrate` stores it).
    public var threshold: Float?
    /// Identifies this gallery among others, so an index built from another gallery is never mistaken for this one's.
    public var uuid: String
}

/// A gallery's state at one moment: which gallery, and how many changes it has seen. An index file
/// records the state it was built from; any add or remove since makes it stale.
public struct GalleryState: Sendable, Equatable {
    public var uuid: String
    public var generation: Int64

    public init(uuid: String, generation: Int64) {
        self.uuid = uuid
        self.generation = generation
    }
}

/// One item to add: where it came from, its class, and optional JSON metadata.
public struct NewItem: Sendable {
    public var path: String
    public var label: String
    public var metadata: String?

    public init(path: String, label: String, metadata: String? = nil) {
        self.path = path
        self.label = label
        self.metadata = metadata
    }
}

/// A stored item, without its vector.
public struct StoredItem: Sendable, Equatable {
    /// 0-based, in insertion order, never reused after a removal.
    public var id: Int
    public var path: String
    public var label: String
    public var added: Date
    public var metadata: String?
}
