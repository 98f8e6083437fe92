import Foundation
import PostgresNIO
import Tensors

/// Searching a PostgreSQL gallery where its vectors are: pgvector scores them in the database, so
/// no process holds a copy of the index. Vectors of a cosine gallery are stored at unit length, so
/// both similarities order by pgvector's inner product (`<#>`, its negation), and the HNSW index
/// is built with `vector_ip_ops` (the same order `vector_cosine_ops` gives on unit vectors, with
/// less work a comparison).
extension PostgresGalleryStore {
    /// Builds pgvector's HNSW index of the collection (`kind` hnsw, with its `m` and
    /// `efConstruction`; `efSearch` becomes the searches' `hnsw.ef_search`), or drops it for exact
    /// search (`kind` flat), and records the settings. Other kinds are Akin's in-memory indexes,
    /// which a PostgreSQL gallery does not keep: refused.
    public func buildIndex(_ settings: IndexSettings) throws {
        if settings.kind == .hnsw, let problem = Self.pgvectorProblem(settings.hnswParameters) {
            throw GalleryStoreError.notSupported(path: path, reason: "pgvector's HNSW takes \(problem); nothing was changed")
        }
        if let shards {
            try buildShardIndexes(settings, shards: shards)
            try setIndexSettings(settings)
            return
        }
        let name = PostgresSchema.hnswIndexName(ofTable: "items_\(address.collection)")
        switch settings.kind {
        case .flat:
            try session.query("DROP INDEX CONCURRENTLY IF EXISTS akin.\(unescaped: Self.quoted(name))")
        case .hnsw:
            guard info.dimension <= PostgresSchema.maximumIndexedDimension else {
                throw GalleryStoreError.notSupported(path: path, reason: "pgvector's HNSW indexes at most \(PostgresSchema.maximumIndexedDimension) dimensions, and this gallery has \(info.dimension); search it exactly (--kind flat)")
            }
            let waits = String(max(1, Int(session.lockTimeout * 1000)))
            // A concurrent build waits for every write in progress to end: not a lock to give up on.
            try session.set("lock_timeout", "0")
            defer { try? session.set("lock_timeout", waits) }
            try Self.buildHNSW(session, table: table, name: name, parameters: settings.hnswParameters)
        case .sq8, .ivfpq:
            throw GalleryStoreError.notSupported(path: path, reason: "a PostgreSQL gallery is searched by pgvector, whose index is HNSW; build --kind hnsw, or flat for exact search (\(settings.kind.rawValue) is for SQLite galleries)")
        }
        try setIndexSettings(settings)
    }

    /// Builds pgvector's HNSW index `akin.NAME` of `table` without blocking the collection's writers
    /// or searches, which an index build of a large gallery would for an hour: the new index is
    /// built concurrently under a name no collection's can take (`-` is not allowed in one), then
    /// the old one dropped concurrently and the new one renamed in its place, so a search always has
    /// an index. A failed build leaves an invalid index, dropped here (or by the next build).
    static func buildHNSW(_ session: PostgresSession, table: String, name: String, parameters: HNSWParameters) throws {
        let newName = quoted(name + "-new"), building = "akin." + newName
        try session.query("DROP INDEX CONCURRENTLY IF EXISTS \(unescaped: building)")
        let raised = try raiseMaintenanceMemory(session)
        defer { if raised { _ = try? session.query("RESET maintenance_work_mem") } }
        do {
            try session.query("""
                CREATE INDEX CONCURRENTLY \(unescaped: newName) ON \(unescaped: table) USING hnsw (embedding vector_ip_ops)
                WITH (m = \(unescaped: String(parameters.m)), ef_construction = \(unescaped: String(parameters.efConstruction)))
                """)
        } catch {
            _ = try? session.query("DROP INDEX CONCURRENTLY IF EXISTS \(unescaped: building)")
            throw error
        }
        try session.query("DROP INDEX CONCURRENTLY IF EXISTS akin.\(unescaped: quoted(name))")
        try session.query("ALTER INDEX \(unescaped: building) RENAME TO \(unescaped: quoted(name))")
    }

    /// A quoted SQL identifier of Akin's own making.
    static func quoted(_ name: String) -> String { "\"" + name + "\"" }

    /// pgvector builds its graph in memory while it fits `maintenance_work_mem`, many times faster
    /// than on disk, so a server whose setting is under 1 GB gets 1 GB for this connection's build;
    /// a larger setting (an administrator's, sized for big galleries) is kept. True when raised.
    @discardableResult
    static func raiseMaintenanceMemory(_ session: PostgresSession) throws -> Bool {
        let kilobytes = try session.query("SELECT setting::bigint FROM pg_settings WHERE name = 'maintenance_work_mem'").decodeFirst(Int64.self) ?? 0
        guard kilobytes < 1 << 20 else { return false }
        try session.query("SET maintenance_work_mem = '1GB'")
        return true
    }

    /// What pgvector refuses in these HNSW settings (checked before the old index is dropped), or nil.
    static func pgvectorProblem(_ parameters: HNSWParameters) -> String? {
        if !(2...100).contains(parameters.m) { return "m from 2 to 100, not \(parameters.m)" }
        if !(4...1000).contains(parameters.efConstruction) || parameters.efConstruction < 2 * parameters.m {
            return "ef_construction from 4 to 1000 and at least twice m, not \(parameters.efConstruction) with m \(parameters.m)"
        }
        if !(1...1000).contains(parameters.efSearch) { return "ef_search from 1 to 1000, not \(parameters.efSearch)" }
        return nil
    }

    /// A sharded gallery's index: pgvector's HNSW on each shard, built there; the shard database's
    /// `hnsw.ef_search` and `hnsw.iterative_scan` are set for the coordinator's connections to use.
    private func buildShardIndexes(_ settings: IndexSettings, shards: [PostgresAddress]) throws {
        guard settings.kind == .hnsw || settings.kind == .flat else {
            throw GalleryStoreError.notSupported(path: path, reason: "a PostgreSQL gallery is searched by pgvector, whose index is HNSW; build --kind hnsw, or flat for exact search (\(settings.kind.rawValue) is for SQLite galleries)")
        }
        let parameters = settings.hnswParameters
        try PostgresShards.each(shards) { k, shard in
            let table = PostgresShards.shardTable(address.collection, k)
            guard settings.kind == .hnsw else {
                try shard.query("DROP INDEX CONCURRENTLY IF EXISTS akin.\(unescaped: Self.quoted(PostgresSchema.hnswIndexName(ofTable: table)))")
                return
            }
            try Self.buildHNSW(shard, table: "akin.\(Self.quoted(table))", name: PostgresSchema.hnswIndexName(ofTable: table), parameters: parameters)
            let database = "\"\(shard.address.database.replacingOccurrences(of: "\"", with: "\"\""))\""
            try shard.query("ALTER DATABASE \(unescaped: database) SET hnsw.ef_search = \(unescaped: String(parameters.efSearch))")
            try shard.query("ALTER DATABASE \(unescaped: database) SET hnsw.iterative_scan = strict_order")
        }
    }

    /// Whether pgvector's HNSW index of the collection exists (on every shard of a sharded one).
    public var hasDatabaseIndex: Bool {
        get throws {
            guard let shards else {
                return try session.query("""
                    SELECT 1 FROM pg_indexes WHERE schemaname = 'akin' AND indexname = \(PostgresSchema.hnswIndexName(ofTable: "items_\(address.collection)"))
                    """).decodeFirst(Int.self) != nil
            }
            var all = true
            try PostgresShards.each(shards) { k, shard in
                let name = PostgresSchema.hnswIndexName(ofTable: PostgresShards.shardTable(address.collection, k))
                all = try all && shard.query("SELECT 1 FROM pg_indexes WHERE schemaname = 'akin' AND indexname = \(name)").decodeFirst(Int.self) != nil
            }
            return all
        }
    }

    /// The `k` most similar items of each query row ([Q, D]), best first, scored in the database.
    /// `exact` scores every vector (the index is not used); `efSearch` sets pgvector's candidate
    /// list for an index search; `labels`, when given, keeps only items with one of those labels
    /// (`excludingLabels` leaves those out), filtered inside the index scan by pgvector 0.8's
    /// iterative scan, so a filter that admits few items still returns `k` of them (and when that
    /// scan stops short, at pgvector's `hnsw.max_scan_tuples`, an exact scan of the matches does).
    public func search(_ queries: Tensor, k: Int, exact: Bool, efSearch: Int?,
                       labels: Set<String>? = nil, excludingLabels: Set<String> = []) throws -> [[SearchHit]] {
        let d = info.dimension
        guard queries.shape.count == 2, queries.shape[1] == d else {
            throw GalleryStoreError.wrongDimension(path: path, expected: d, got: queries.shape.last ?? 0, what: "the queries")
        }
        if labels?.isEmpty == true { return Array(repeating: [], count: queries.shape[0]) }
        if shards != nil, efSearch != nil {
            throw GalleryStoreError.notSupported(path: path, reason: "a sharded gallery's ef_search is set on its shards when the index is built (akin index build --ef-search); a search cannot change it")
        }
        return try session.holding {
            memory.withLock { $0.hitItems = [:] }
            try setEfSearch(efSearch)
            var results: [[SearchHit]] = [], remembered: [Int: StoredItem] = [:]
            results.reserveCapacity(queries.shape[0])
            for row in 0..<queries.shape[0] {
                let query = Array(UnsafeBufferPointer(start: queries.pointer + row * d, count: d))
                var bindings = PostgresBindings()
                bindings.append(query)
                let vector = "$1::real[]::vector"
                // The items' columns come with the hits: the caller reads them next (`items(ids:)`).
                var filter = ""
                if let labels {
                    bindings.append(labels.sorted())
                    filter += " AND label = ANY($\(bindings.count)::text[])"
                }
                if !excludingLabels.isEmpty {
                    bindings.append(excludingLabels.sorted())
                    filter += " AND label <> ALL($\(bindings.count)::text[])"
                }
                func hits(exact: Bool) throws -> [SearchHit] {
                    var sql = "SELECT \(Self.itemColumns), -(embedding <#> \(vector)) FROM \(table) WHERE true" + filter
                    // `+ 0` makes the order an expression the HNSW index does not serve: exact search by a
                    // sequential scan, with ties in id order as Akin's own exact search gives them.
                    sql += exact ? " ORDER BY (embedding <#> \(vector)) + 0, id LIMIT \(k)" : " ORDER BY embedding <#> \(vector) LIMIT \(k)"
                    return try session.query(PostgresQuery(unsafeSQL: sql, binds: bindings)).map { row in
                        let (id, path, label, added, metadata, similarity) = try decoding { try row.decode((Int, String, String, Double, String?, Double).self) }
                        remembered[id] = StoredItem(id: id, path: path, label: label, added: Date(timeIntervalSince1970: added), metadata: metadata)
                        return SearchHit(index: id, similarity: Float(similarity))
                    }
                }
                var found = try hits(exact: exact)
                // pgvector's filtered index scan gives up after hnsw.max_scan_tuples (20,000) rows, so a
                // rare label in a large gallery can come back short of k; the exact scan finds every
                // match (and costs what a scan of the filter's matches costs).
                if !exact, !filter.isEmpty, found.count < k { found = try hits(exact: true) }
                let hits = found
                results.append(hits)
            }
            // Kept only when every query was answered: a failed search leaves nothing behind.
            memory.withLock { $0.hitItems = remembered }
            return results
        }
    }

    /// Sets `hnsw.ef_search` on this connection when it differs from what it was last set to.
    private func setEfSearch(_ value: Int?) throws {
        guard value != memory.withLock({ $0.efSearch }) else { return }
        if let value {
            guard (1...1000).contains(value) else {
                throw GalleryStoreError.notSupported(path: path, reason: "pgvector's ef_search is 1 to 1000, not \(value)")
            }
            try session.set("hnsw.ef_search", String(value))
        } else {
            try session.set("hnsw.ef_search", nil)
        }
        memory.withLock { $0.efSearch = value }
    }
}
