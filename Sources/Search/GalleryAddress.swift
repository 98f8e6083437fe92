import Foundation

/// Where a gallery lives, as a user writes it: a file path (an SQLite gallery) or
/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE?collection=NAME` (a collection in a PostgreSQL
/// database with pgvector). Every command that takes a gallery takes either.
public enum GalleryAddress: Sendable, Equatable, CustomStringConvertible {
    case file(String)
    case postgres(PostgresAddress)

    /// Reads an address; a `postgres://` or `postgresql://` one is checked whole (``PostgresAddress``).
    public init(_ text: String) throws {
        if PostgresAddress.looksLike(text) { self = .postgres(try PostgresAddress(text)) } else { self = .file(text) }
    }

    /// The address as messages show it (a PostgreSQL password left out).
    public var description: String {
        switch self {
        case let .file(path): return path
        case let .postgres(address): return address.description
        }
    }

    /// Opens the gallery at this address.
    public func open(readOnly: Bool = false, lockTimeout: TimeInterval = SQLiteGalleryStore.busyTimeout) throws -> any GalleryStore {
        switch self {
        case let .file(path): return try SQLiteGalleryStore.open(path, readOnly: readOnly, lockTimeout: lockTimeout)
        case let .postgres(address): return try PostgresGalleryStore.open(address, readOnly: readOnly, lockTimeout: lockTimeout)
        }
    }

    /// Makes a new, empty gallery here; refuses one that exists. `shards` (PostgreSQL only) spreads
    /// its items over those servers, this address being the coordinator (``PostgresShards``).
    public func create(dimension: Int, modelFingerprint: String?, similarity: GallerySimilarity = .cosine, shards: [String] = []) throws -> any GalleryStore {
        switch self {
        case let .file(path):
            guard shards.isEmpty else {
                throw GalleryStoreError.notSupported(path: path, reason: "shards are PostgreSQL servers of a PostgreSQL gallery; give a postgres:// address as the coordinator")
            }
            return try SQLiteGalleryStore.create(at: path, dimension: dimension, modelFingerprint: modelFingerprint, similarity: similarity)
        case let .postgres(address):
            return try PostgresGalleryStore.create(address, dimension: dimension, modelFingerprint: modelFingerprint, similarity: similarity, shards: shards)
        }
    }

    /// Makes a whole gallery at once: filled out of sight and put in place only when complete, so
    /// the address never holds half a gallery. With `overwrite`, one already there is replaced.
    public func createWhole(overwrite: Bool, dimension: Int, modelFingerprint: String?, similarity: GallerySimilarity = .cosine,
                            fill: (any GalleryStore) throws -> Void) throws {
        switch self {
        case let .file(path):
            try SQLiteGalleryStore.createWhole(at: path, overwrite: overwrite, dimension: dimension, modelFingerprint: modelFingerprint,
                                               similarity: similarity, fill: fill)
        case let .postgres(address):
            try PostgresGalleryStore.createWhole(address, overwrite: overwrite, dimension: dimension, modelFingerprint: modelFingerprint,
                                                 similarity: similarity, fill: fill)
        }
    }

    /// Removes the gallery here, with its items and index (a sharded PostgreSQL collection's shard
    /// tables too); `missing` when there is none. A file is removed only when it opens as a gallery,
    /// so a mistyped path never deletes some other file.
    public func drop() throws {
        switch self {
        case let .file(path):
            guard FileManager.default.fileExists(atPath: path) else { throw GalleryStoreError.missing(path) }
            try SQLiteGalleryStore.open(path, readOnly: true).close()
            for suffix in ["", "-wal", "-shm", ".index"] where FileManager.default.fileExists(atPath: path + suffix) {
                do { try FileManager.default.removeItem(atPath: path + suffix) } catch {
                    throw GalleryStoreError.cannotOpen(path: path + suffix, reason: "cannot remove it: \(error.localizedDescription)")
                }
            }
        case let .postgres(address):
            guard try PostgresGalleryStore.drop(address) else { throw GalleryStoreError.missing(address.description) }
        }
    }

    /// Whether a gallery is there.
    public func exists() throws -> Bool {
        switch self {
        case let .file(path): return FileManager.default.fileExists(atPath: path)
        case let .postgres(address): return try PostgresGalleryStore.exists(address)
        }
    }

    /// Where an index file of this gallery lives; nil for a PostgreSQL gallery, whose index is pgvector's, in the database.
    public var indexFilePath: String? {
        if case let .file(path) = self { return GalleryIndex.defaultPath(for: path) }
        return nil
    }
}

/// A PostgreSQL gallery's address: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE?collection=NAME`.
/// Connections are plain TCP (no TLS): keep the database on a private network or loopback.
public struct PostgresAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    /// The gallery's name inside the database: letters, digits and `_`, 1 to 40 of them.
    public var collection: String

    public static func looksLike(_ text: String) -> Bool { text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") }

    public init(host: String, port: Int = 5432, user: String, password: String? = nil, database: String, collection: String) throws {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.collection = collection
        try Self.check(collection: collection, in: description)
    }

    public init(_ text: String) throws {
        let shown = Self.withoutPassword(text)
        guard let url = URLComponents(string: text), let host = url.host, !host.isEmpty else {
            throw GalleryStoreError.badAddress(shown, reason: "it is not a URL of the form postgres://USER@HOST:PORT/DATABASE?collection=NAME")
        }
        guard let user = url.user, !user.isEmpty else { throw GalleryStoreError.badAddress(shown, reason: "it names no user (postgres://USER@HOST/…)") }
        let database = String(url.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw GalleryStoreError.badAddress(shown, reason: "it names no database (postgres://USER@HOST:PORT/DATABASE?collection=NAME)")
        }
        var collection: String?
        for item in url.queryItems ?? [] {
            guard item.name == "collection", collection == nil, let value = item.value else {
                throw GalleryStoreError.badAddress(shown, reason: "\(item.name) is not a setting Akin reads; give only collection=NAME once")
            }
            collection = value
        }
        guard let collection else { throw GalleryStoreError.badAddress(shown, reason: "it names no collection (add ?collection=NAME)") }
        let port = url.port ?? 5432
        guard (1...65535).contains(port) else { throw GalleryStoreError.badAddress(shown, reason: "port \(port) is out of range") }
        // URLComponents has already decoded user, password and path; IPv6 hosts keep their brackets there.
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        try self.init(host: bare, port: port, user: user, password: url.password, database: database, collection: collection)
    }

    public var description: String {
        "postgres://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)?collection=\(collection)"
    }

    /// The same database, another collection.
    public func with(collection: String) throws -> PostgresAddress {
        try PostgresAddress(host: host, port: port, user: user, password: password, database: database, collection: collection)
    }

    /// Whether `name` can name a collection: 1 to 40 lowercase letters, digits or `_` (it is part of table names).
    public static func isCollectionName(_ name: String) -> Bool {
        (1...40).contains(name.utf8.count) && name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
    }

    static func check(collection: String, in address: String) throws {
        guard isCollectionName(collection) else {
            throw GalleryStoreError.badAddress(address, reason: "collection \"\(collection)\" must be 1 to 40 lowercase letters, digits or _")
        }
    }

    /// `text` with any password replaced, for messages.
    static func withoutPassword(_ text: String) -> String {
        // The last @ before the path ends the credentials (a password may hold an unencoded @).
        guard let scheme = text.range(of: "://") else { return text }
        let authority = text[scheme.upperBound...].prefix { $0 != "/" && $0 != "?" }
        guard let at = authority.lastIndex(of: "@") else { return text }
        let credentials = text[scheme.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }
}
