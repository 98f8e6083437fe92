import Foundation

/// What one search looks for.
public enum GalleryQuery: Sendable, Equatable {
    /// A vector of the gallery's dimension (scaled to unit length for a cosine gallery).
    case vector([Float])
    /// The item with this id: "more like this one". The item itself is left out of its answer.
    case item(Int)
}

/// Which labels a search may return.
public struct LabelFilter: Sendable, Equatable {
    /// When set, only these labels.
    public var only: Set<String>?
    /// Never these labels.
    public var excluding: Set<String>

    public init(only: Set<String>? = nil, excluding: Set<String> = []) {
        self.only = only
        self.excluding = excluding
    }

    public func admits(_ label: String) -> Bool { (only?.contains(label) ?? true) && !excluding.contains(label) }
}

/// How ``Gallery/search(_:options:)`` answers: how many hits, from where, which ones, and how hard to look.
public struct SearchOptions: Sendable, Equatable {
    /// Hits per query, 1…``maximumK``.
    public var k: Int
    /// Hits skipped before the `k` returned, for paging: 0…``maximumOffset``.
    public var offset: Int
    /// Hits less similar than this are left out (fewer than `k` may come back).
    public var minimumSimilarity: Float?
    /// Only items whose label this admits.
    public var labels: LabelFilter?
    /// The best hit of each label only: "which product is this", not "which photos".
    public var groupByLabel: Bool
    /// Search every item exactly, ignoring the gallery's index.
    public var exact: Bool
    /// HNSW's candidate list for this search (the index's own `efSearch` when nil); refused for other kinds.
    public var efSearch: Int?
    /// IVF-PQ's cells visited for this search (the index's own when nil); refused for other kinds.
    public var probe: Int?
    /// "match" is judged by this instead of the gallery's calibrated threshold.
    public var threshold: Float?

    public static let maximumK = 10_000
    /// Hits one call may rank in all, queries × (offset + k).
    public static let maximumHitsPerSearch = 200_000
    public static let maximumOffset = 100_000
    /// The largest `efSearch` or `probe` a search may ask for.
    public static let maximumKnob = 100_000

    public init(k: Int, offset: Int = 0, minimumSimilarity: Float? = nil, labels: LabelFilter? = nil, groupByLabel: Bool = false,
                exact: Bool = false, efSearch: Int? = nil, probe: Int? = nil, threshold: Float? = nil) {
        self.k = k
        self.offset = offset
        self.minimumSimilarity = minimumSimilarity
        self.labels = labels
        self.groupByLabel = groupByLabel
        self.exact = exact
        self.efSearch = efSearch
        self.probe = probe
        self.threshold = threshold
    }

    /// The first option out of range, named as the HTTP API and the CLI name it.
    func check() throws {
        guard (1...Self.maximumK).contains(k) else { throw GalleryError.badOption("k", "must be 1…\(Self.maximumK), not \(k)") }
        guard (0...Self.maximumOffset).contains(offset) else { throw GalleryError.badOption("offset", "must be 0…\(Self.maximumOffset), not \(offset)") }
        for (name, value) in [("ef", efSearch), ("probe", probe)] {
            if let value, !(1...Self.maximumKnob).contains(value) { throw GalleryError.badOption(name, "must be 1…\(Self.maximumKnob), not \(value)") }
        }
        for (name, value) in [("score_threshold", minimumSimilarity), ("threshold", threshold)] {
            if let value, !value.isFinite { throw GalleryError.badOption(name, "must be a finite number") }
        }
    }

    /// Whether hits past the first `offset + k` may be needed: some are left out after ranking.
    var leavesOut: Bool { labels != nil || groupByLabel }
}

extension Gallery {
    /// Each query's hits under `options`, with "match" judged against the best hit kept (before
    /// `offset`). Filters, grouping and the similarity floor are applied to the ranked hits; when
    /// they leave fewer than `offset + k`, the search is widened (to every item at most), so a
    /// filtered search misses nothing the index can find.
    public func search(_ queries: [GalleryQuery], options: SearchOptions) throws -> [SearchResult] {
        try options.check()
        guard !queries.isEmpty else { return [] }
        guard queries.count * (options.offset + options.k) <= SearchOptions.maximumHitsPerSearch else {
            throw GalleryError.badOption("k", "with offset, over \(queries.count) queries, asks for more than \(SearchOptions.maximumHitsPerSearch) hits at once; ask for fewer or page")
        }
        let d = info.dimension
        let matrix = Tensor(shape: [queries.count, d])
        var leftOut: [Int?] = []
        for (row, query) in queries.enumerated() {
            switch query {
            case let .vector(vector):
                guard vector.count == d else {
                    throw GalleryStoreError.wrongDimension(path: path, expected: d, got: vector.count, what: "query \(row)")
                }
                (matrix.pointer + row * d).update(from: vector, count: d)
                leftOut.append(nil)
            case let .item(id):
                guard let stored = try store.vectors(ids: [id]) else { throw GalleryError.noSuchItem(id) }
                (matrix.pointer + row * d).update(from: stored.pointer, count: d)
                leftOut.append(id)
            }
        }
        let unit = try self.queries(matrix)
        let opened = try openIndex(exact: options.exact)
        let index = opened.index
        guard index.count > 0 else { try Self.throwIfFailed(index); throw GalleryStoreError.empty(path) }
        let cut = options.threshold ?? lastThreshold
        return try withKnobs(options, on: index, kind: opened.use.kind) {
            let single = Tensor(shape: [1, d])
            return try (0..<queries.count).map { row in
                single.pointer.update(from: unit.pointer + row * d, count: d)
                return try answer(single, leaving: leftOut[row], index: index, options: options, threshold: cut)
            }
        }
    }

    /// One query's answer, widening the search fourfold each time the kept hits fall short, until
    /// every item the filter admits (or every admitted label, when grouping) is kept, or every item
    /// has been ranked. Items already read are not read again.
    private func answer(_ query: Tensor, leaving leftOut: Int?, index: any VectorIndex, options: SearchOptions, threshold: Float?) throws -> SearchResult {
        let wanted = options.offset + options.k
        // Read once: a database-backed index counts its items with a query.
        let total = index.count
        var fetch = min(total, (options.leavesOut ? 4 * wanted : wanted) + (leftOut == nil ? 0 : 1))
        var items: [Int: StoredItem] = [:], reachable: Int?
        while true {
            let hits = index.search(query, k: fetch)[0]
            try Self.throwIfFailed(index)
            let unread = hits.map(\.index).filter { items[$0] == nil }
            items.merge(try store.items(ids: unread)) { old, _ in old }
            var kept: [GalleryHit] = [], labelsSeen = Set<String>(), reachedFloor = false
            for hit in hits where hit.index != leftOut {
                guard let item = items[hit.index] else { continue }
                if let floor = options.minimumSimilarity, hit.similarity < floor { reachedFloor = true; break }
                if let labels = options.labels, !labels.admits(item.label) { continue }
                if options.groupByLabel, !labelsSeen.insert(item.label).inserted { continue }
                kept.append(GalleryHit(id: hit.index, path: item.path, label: item.label, similarity: hit.similarity, metadata: item.metadata))
                if kept.count == wanted { break }
            }
            if kept.count < wanted, !reachedFloor, fetch < total, reachable == nil, options.leavesOut {
                reachable = try admittedCount(options, leaving: leftOut)
            }
            if kept.count >= wanted || reachedFloor || fetch >= total || kept.count >= (reachable ?? .max) {
                let matched = threshold.map { (kept.first?.similarity ?? -.infinity) >= $0 } ?? true
                return SearchResult(match: matched, threshold: threshold, hits: Array(kept.dropFirst(options.offset)))
            }
            fetch = min(total, fetch * 4)
        }
    }

    /// How many hits a filtered or grouped search can keep at most: the items its labels admit, or
    /// the labels themselves when grouping (from one count by label, read only when a search widens).
    private func admittedCount(_ options: SearchOptions, leaving leftOut: Int?) throws -> Int {
        let admitted = try store.labelCounts().filter { options.labels?.admits($0.label) ?? true }
        if options.groupByLabel { return admitted.count }
        // The item searched with is never kept: it may be one of those counted.
        return admitted.reduce(0) { $0 + $1.count } - (leftOut == nil ? 0 : 1)
    }

    /// Runs `body` with the search-time knobs set on `index`, and puts the index's own back after.
    private func withKnobs<T>(_ options: SearchOptions, on index: any VectorIndex, kind: IndexKind?, _ body: () throws -> T) throws -> T {
        let kind = options.exact || kind == nil ? "exact search" : "an index of kind \(kind!.rawValue)"
        if let database = index as? PgvectorIndex {
            // The database filters by label inside its scan; the search loop's own check then keeps every hit.
            database.labels = options.labels?.only
            database.excludingLabels = options.labels?.excluding ?? []
            defer { database.labels = nil; database.excludingLabels = [] }
            if options.probe != nil { throw GalleryError.optionDoesNotApply("probe", "applies to an IVF-PQ index, and this search uses \(kind)") }
            guard let ef = options.efSearch else { return try body() }
            guard !database.exact else { throw GalleryError.optionDoesNotApply("ef", "applies to an HNSW index, and this search uses \(kind)") }
            guard !database.store.isSharded else {
                throw GalleryError.optionDoesNotApply("ef", "cannot reach a sharded gallery's shards: their ef_search is the one its index was built with")
            }
            let own = database.efSearch
            database.efSearch = ef
            defer { database.efSearch = own }
            return try body()
        }
        if let ef = options.efSearch {
            guard let graph = index as? HNSWIndex, !options.exact else { throw GalleryError.optionDoesNotApply("ef", "applies to an HNSW index, and this search uses \(kind)") }
            let own = graph.parameters.efSearch
            graph.parameters.efSearch = ef
            defer { graph.parameters.efSearch = own }
            if options.probe != nil { throw GalleryError.optionDoesNotApply("probe", "applies to an IVF-PQ index, and this search uses \(kind)") }
            return try body()
        }
        if let probe = options.probe {
            guard let cells = index as? IVFPQIndex, !options.exact else { throw GalleryError.optionDoesNotApply("probe", "applies to an IVF-PQ index, and this search uses \(kind)") }
            let own = cells.parameters.probe
            cells.parameters.probe = probe
            defer { cells.parameters.probe = own }
            return try body()
        }
        return try body()
    }
}
