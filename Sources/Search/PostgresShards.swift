import Foundation
import PostgresNIO

/// A gallery sharded over several PostgreSQL servers with PostgreSQL's own machinery: on the
/// coordinator, `akin.items_NAME` is a table partitioned by the hash of the item id whose
/// partitions are postgres_fdw foreign tables, one on each shard server (`akin.items_NAME_sK`,
/// with its own pgvector HNSW index). Adds, removes and searches go through the coordinator:
/// postgres_fdw routes each row to its shard, and sends each shard the search's `ORDER BY
/// embedding <#> q` (pgvector's operators are shippable because the foreign servers name
/// `extensions 'vector'`), then merges the shards' ordered rows. What the coordinator cannot
/// send is a session setting: a shard's `hnsw.ef_search` and `hnsw.iterative_scan` are set on its
/// database (``PostgresGalleryStore/buildIndex(_:)``), so a search cannot change them.
///
/// Citus shards the same way with a distributed table, but needs typed parameters (`$1::vector`)
/// and asks every shard unless the query names the distribution column; Akin's layout needs only
/// postgres_fdw, which every PostgreSQL has.
enum PostgresShards {
    static func shardTable(_ collection: String, _ k: Int) -> String { "items_\(collection)_s\(k)" }
    static func serverName(_ collection: String, _ k: Int) -> String { "akin_\(collection)_s\(k)" }

    /// A quoted SQL literal (options of CREATE SERVER and USER MAPPING take no parameters).
    static func literal(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }

    /// The shard servers of `collection`, given as `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`.
    static func addresses(_ servers: [String], collection: String, coordinator: PostgresAddress) throws -> [PostgresAddress] {
        guard servers.count >= 2 else {
            throw GalleryStoreError.badAddress(servers.map(PostgresAddress.withoutPassword).joined(separator: ","), reason: "give two or more shard servers (one is no sharding)")
        }
        let shards = try servers.map { server -> PostgresAddress in
            guard PostgresAddress.looksLike(server), !server.contains("?") else {
                throw GalleryStoreError.badAddress(PostgresAddress.withoutPassword(server), reason: "a shard is postgres://USER@HOST:PORT/DATABASE, without ?collection")
            }
            return try PostgresAddress(server + "?collection=\(collection)")
        }
        let places = shards.map { "\($0.host):\($0.port)/\($0.database)" }
        guard Set(places).count == places.count, !places.contains("\(coordinator.host):\(coordinator.port)/\(coordinator.database)") else {
            throw GalleryStoreError.badAddress(servers.map(PostgresAddress.withoutPassword).joined(separator: ","), reason: "each shard must be its own database, and not the coordinator's")
        }
        return shards
    }

    /// Creates the shard tables, then the coordinator's partitioned table of foreign partitions.
    /// Runs inside the coordinator's transaction (`session`); a shard table left by a failure is
    /// dropped and made again the next time.
    static func create(_ collection: String, dimension: Int, shards: [PostgresAddress], coordinator session: PostgresSession) throws {
        for (k, shard) in shards.enumerated() {
            let remote = try PostgresSession(shard)
            defer { remote.close() }
            try remote.transaction {
                try PostgresSchema.prepareShard(remote)
                let table = "akin.\"\(shardTable(collection, k))\""
                try remote.query("DROP TABLE IF EXISTS \(unescaped: table)")
                try PostgresSchema.createItemsTable(table, dimension: dimension, in: remote)
            }
        }
        do { try session.query("CREATE EXTENSION IF NOT EXISTS postgres_fdw") } catch {
            throw GalleryStoreError.database(path: session.address.description, reason: "postgres_fdw is not available on the coordinator (\(PostgresSession.reason(error))); install it (CREATE EXTENSION postgres_fdw, as a superuser)")
        }
        let table = PostgresSchema.itemsTable(collection)
        try session.query("""
            CREATE TABLE \(unescaped: table) (
                id bigint NOT NULL, path text NOT NULL, label text NOT NULL, added double precision NOT NULL,
                metadata text, embedding vector(\(unescaped: String(dimension))) NOT NULL) PARTITION BY HASH (id)
            """)
        for (k, shard) in shards.enumerated() {
            let server = "\"\(serverName(collection, k))\""
            try session.query("DROP SERVER IF EXISTS \(unescaped: server) CASCADE")
            try session.query("""
                CREATE SERVER \(unescaped: server) FOREIGN DATA WRAPPER postgres_fdw OPTIONS (
                    host \(unescaped: literal(shard.host)), port \(unescaped: literal(String(shard.port))),
                    dbname \(unescaped: literal(shard.database)), extensions 'vector')
                """)
            let password = shard.password.map { ", password \(literal($0))" } ?? ""
            try session.query("CREATE USER MAPPING FOR CURRENT_USER SERVER \(unescaped: server) OPTIONS (user \(unescaped: literal(shard.user))\(unescaped: password))")
            try session.query("""
                CREATE FOREIGN TABLE akin.\(unescaped: "\"\(shardTable(collection, k))\"") PARTITION OF \(unescaped: table)
                FOR VALUES WITH (MODULUS \(unescaped: String(shards.count)), REMAINDER \(unescaped: String(k)))
                SERVER \(unescaped: server) OPTIONS (schema_name 'akin', table_name \(unescaped: literal(shardTable(collection, k))))
                """)
        }
    }

    /// The shard servers a sharded collection records (nil: not sharded), as JSON in `akin.galleries.shards`.
    static func encode(_ shards: [PostgresAddress]) -> String {
        let servers = shards.map { "postgres://\($0.user)@\($0.host):\($0.port)/\($0.database)" }
        return String(decoding: (try? JSONEncoder().encode(servers)) ?? Data("[]".utf8), as: UTF8.self)
    }

    /// The shards `encode` recorded, reached with the coordinator's password when they name none.
    static func decode(_ json: String?, collection: String, coordinator: PostgresAddress) throws -> [PostgresAddress]? {
        guard let json else { return nil }
        guard let servers = try? JSONDecoder().decode([String].self, from: Data(json.utf8)) else {
            throw GalleryStoreError.notAGallery(path: coordinator.description, reason: "its shards (\(json)) do not decode")
        }
        return try servers.map { server in
            var address = try PostgresAddress(server + "?collection=\(collection)")
            if address.password == nil { address.password = coordinator.password }
            return address
        }
    }

    /// Runs `body` on a connection to each shard, in order.
    static func each(_ shards: [PostgresAddress], _ body: (Int, PostgresSession) throws -> Void) throws {
        for (k, shard) in shards.enumerated() {
            let session = try PostgresSession(shard)
            defer { session.close() }
            try body(k, session)
        }
    }

    /// Drops the coordinator's foreign servers of `collection` (and with them its foreign tables),
    /// inside the caller's transaction that drops its partitioned table.
    static func dropServers(_ collection: String, count: Int, coordinator session: PostgresSession) throws {
        for k in 0..<count {
            try session.query("DROP SERVER IF EXISTS \(unescaped: "\"\(serverName(collection, k))\"") CASCADE")
        }
    }

    /// Drops the shard tables of `collection`, after the coordinator committed its drop. A shard that
    /// cannot be reached keeps its table, which nothing refers to any more; `create` drops it
    /// before it makes a table of the same name again.
    static func dropTables(_ collection: String, shards: [PostgresAddress]) {
        for (k, shard) in shards.enumerated() {
            guard let remote = try? PostgresSession(shard) else { continue }
            _ = try? remote.query("DROP TABLE IF EXISTS akin.\(unescaped: "\"\(shardTable(collection, k))\"")")
            remote.close()
        }
    }
}
