import PostgresNIO

/// Akin's tables in a PostgreSQL database, created and migrated by Akin. Everything lives in the
/// schema `akin`: `akin.schema_version` (one row, the layout's version), `akin.galleries` (one row
/// per collection: dimension, similarity, model, threshold, index settings, change counter, next
/// id, item count) and one `akin.items_NAME` table per collection whose `embedding` column is a
/// pgvector `vector(D)`. A database whose layout is newer than this build knows is refused.
enum PostgresSchema {
    /// The layout this build writes and reads.
    static let version = 1
    /// pgvector's `vector` stores up to 16,000 dimensions.
    static let maximumDimension = 16_000
    /// pgvector's HNSW indexes `vector` columns of up to 2,000 dimensions.
    static let maximumIndexedDimension = 2_000

    static func itemsTable(_ collection: String) -> String { "akin.\"items_\(collection)\"" }
    /// The name (unqualified, unquoted) of pgvector's HNSW index of the items table `table` (a
    /// collection's `items_NAME`, or a shard's `items_NAME_sK`).
    static func hnswIndexName(ofTable table: String) -> String { table + "_hnsw" }

    /// Creates the extension, the schema and the shared tables if they are missing, and checks the
    /// version of those that exist. Run inside a transaction: an advisory lock keeps two processes
    /// creating the first collection at once from racing.
    static func prepare(_ session: PostgresSession) throws {
        try session.query("SELECT pg_advisory_xact_lock(hashtext('akin-schema'))")
        do { try session.query("CREATE EXTENSION IF NOT EXISTS vector") } catch {
            throw GalleryStoreError.database(path: session.address.description, reason: "pgvector is not available (\(PostgresSession.reason(error))); install the extension on the server (CREATE EXTENSION vector, as a superuser), then try again")
        }
        try session.query("CREATE SCHEMA IF NOT EXISTS akin")
        try session.query("CREATE TABLE IF NOT EXISTS akin.schema_version (version integer NOT NULL)")
        if try session.query("SELECT version FROM akin.schema_version").decodeFirst(Int.self) == nil {
            try session.query("INSERT INTO akin.schema_version (version) VALUES (\(version))")
        }
        try check(session)
        try session.query("""
            CREATE TABLE IF NOT EXISTS akin.galleries (
                name text PRIMARY KEY,
                dimension integer NOT NULL,
                distance text NOT NULL,
                uuid text NOT NULL,
                model text,
                threshold real,
                index_settings text,
                generation bigint NOT NULL DEFAULT 0,
                next_id bigint NOT NULL DEFAULT 0,
                item_count bigint NOT NULL DEFAULT 0,
                shards text,
                created timestamptz NOT NULL DEFAULT now())
            """)
    }

    /// What a shard server needs: pgvector and the `akin` schema (its tables are made by the coordinator's create).
    static func prepareShard(_ session: PostgresSession) throws {
        try session.query("SELECT pg_advisory_xact_lock(hashtext('akin-schema'))")
        do { try session.query("CREATE EXTENSION IF NOT EXISTS vector") } catch {
            throw GalleryStoreError.database(path: session.address.description, reason: "pgvector is not available on this shard (\(PostgresSession.reason(error))); install the extension there (CREATE EXTENSION vector, as a superuser)")
        }
        try session.query("CREATE SCHEMA IF NOT EXISTS akin")
    }

    /// A collection's items table (or one shard of it), with the indexes that label filters, paging and path checks use.
    static func createItemsTable(_ table: String, dimension: Int, in session: PostgresSession) throws {
        try session.query("""
            CREATE TABLE \(unescaped: table) (
                id bigint PRIMARY KEY,
                path text NOT NULL,
                label text NOT NULL,
                added double precision NOT NULL,
                metadata text,
                embedding vector(\(unescaped: String(dimension))) NOT NULL)
            """)
        try session.query("CREATE INDEX ON \(unescaped: table) (label)")
        try session.query("CREATE INDEX ON \(unescaped: table) (path)")
    }

    /// Refuses a database whose Akin layout is missing or newer than this build.
    static func check(_ session: PostgresSession) throws {
        let found: Int?
        do { found = try session.query("SELECT max(version) FROM akin.schema_version").decodeFirst(Int?.self) ?? nil }
        catch where ["42P01", "3F000"].contains(PostgresSession.sqlState(error)) {
            // No such table or schema: Akin's tables are not in this database (yet).
            found = nil
        }
        guard let found else {
            throw GalleryStoreError.missing(session.address.description)
        }
        guard found <= version else {
            throw GalleryStoreError.notAGallery(path: session.address.description, reason: "its database holds Akin's layout version \(found), newer than this build's \(version); use a newer akin")
        }
    }
}

extension PostgresQueryResult {
    /// The first column of the first row, or nil when there is no row.
    func decodeFirst<T: PostgresDecodable>(_ type: T.Type) throws -> T? {
        var iterator = makeIterator()
        return try iterator.next()?.decode(T.self)
    }
}
