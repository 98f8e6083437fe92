import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// One connection to a PostgreSQL server, used from blocking code: the gallery API is synchronous,
/// so each request waits on postgres-nio's future on the calling thread. That thread is never one
/// of NIO's event loops (they only run postgres-nio), so the wait cannot block the answer it waits
/// for. A lock keeps one request, or one transaction, on the connection at a time.
final class PostgresSession: @unchecked Sendable {
    let address: PostgresAddress
    private let connection: PostgresConnection
    private let lock = NSRecursiveLock()
    private static let logger: Logger = {
        var logger = Logger(label: "akin.postgres")
        logger.logLevel = .critical
        return logger
    }()

    /// Seconds a connection attempt may take before it is refused.
    static let connectTimeout: Int64 = 10

    init(_ address: PostgresAddress) throws {
        self.address = address
        var configuration = PostgresConnection.Configuration(host: address.host, port: address.port, username: address.user,
                                                             password: address.password, database: address.database, tls: .disable)
        configuration.options.connectTimeout = .seconds(Self.connectTimeout)
        do {
            connection = try PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration,
                                                        id: 0, logger: Self.logger).wait()
        } catch {
            throw GalleryStoreError.cannotConnect(path: address.description, reason: Self.reason(error))
        }
    }

    private var closed = false

    /// Ends the connection (postgres-nio requires it before the connection is released); later calls do nothing.
    func close() {
        lock.withLock {
            guard !closed else { return }
            closed = true
            try? connection.close().wait()
        }
    }

    deinit { close() }

    /// Runs one statement and returns its rows.
    @discardableResult
    func query(_ query: PostgresQuery) throws -> PostgresQueryResult {
        try lock.withLock {
            do { return try connection.query(query, logger: Self.logger).wait() }
            catch { throw GalleryStoreError.database(path: address.description, reason: Self.reason(error)) }
        }
    }

    /// Runs `body`'s statements with no other thread's in between (a setting, then the query it is for).
    func holding<T>(_ body: () throws -> T) throws -> T { try lock.withLock(body) }

    /// Runs `body` inside one transaction: committed when it returns, rolled back when it throws.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try lock.withLock {
            try query("BEGIN")
            do {
                let result = try body()
                try query("COMMIT")
                return result
            } catch {
                _ = try? query("ROLLBACK")
                throw error
            }
        }
    }

    /// PostgreSQL's own words for a failure (postgres-nio's description hides them on purpose).
    static func reason(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                let detail = error.serverInfo?[.detail].map { " (\($0))" } ?? ""
                return message + detail + (error.serverInfo?[.sqlState].map { " [SQLSTATE \($0)]" } ?? "")
            }
            return String(reflecting: error.code)
        }
        return "\(error)"
    }

    /// The SQLSTATE of a failure the server reported, if it was one.
    static func sqlState(_ error: any Error) -> String? {
        guard case let .database(_, reason) = error as? GalleryStoreError, let range = reason.range(of: "[SQLSTATE ") else { return nil }
        return String(reason[range.upperBound...].prefix(5))
    }
}
