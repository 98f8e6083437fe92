import Foundation

/// Reading, paging, removing by label and copying: what a service offers beside search.
extension Gallery {
    /// The item with this id, or nil.
    public func item(id: Int) throws -> StoredItem? { try store.items(ids: [id])[id] }

    /// Up to `limit` items in id order after `afterID`, only those whose label is in `labels` when given.
    public func items(after afterID: Int = -1, limit: Int, labels: Set<String>? = nil) throws -> [StoredItem] {
        guard limit > 0 else { throw GalleryError.badOption("limit", "must be positive, not \(limit)") }
        return try store.items(afterID: afterID, limit: limit, labels: labels)
    }

    /// Removes every item whose label `filter` admits, in one transaction; returns how many.
    @discardableResult
    public func remove(labels filter: LabelFilter) throws -> Int {
        try removeItems(ids: try store.ids(whereLabel: filter.admits)).count
    }

    /// Removes the items with these ids (unknown ids are ignored) in one transaction and returns
    /// what they were, so a caller can clean up what it keeps beside them (a server's stored images).
    @discardableResult
    public func removeItems(ids: [Int]) throws -> [StoredItem] {
        let items = try store.items(ids: ids)
        if !items.isEmpty { try store.remove(ids: Array(items.keys)) }
        return items.keys.sorted().map { items[$0]! }
    }

    /// Adds items whose vectors the model with this fingerprint embedded (it must be the gallery's
    /// model; `EmbeddingModel.fingerprint` hashes every weight, so a caller keeps it), as
    /// `add(_:vectors:…)` does otherwise: checked whole first, durable when it returns.
    @discardableResult
    public func add(_ items: [NewItem], vectors: Tensor, embeddedByModel fingerprint: String) throws -> [Int] {
        try store.requireModel(fingerprint)
        return try add(items, vectors: vectors, allowingVectorsFromElsewhere: true)
    }

    /// A consistent copy of the gallery at `destination`, made while it stays in use (its index is
    /// not copied: the copy rebuilds it on its first search). Refuses an existing destination.
    public func snapshot(to destination: String) throws { try store.snapshot(to: destination) }
}
