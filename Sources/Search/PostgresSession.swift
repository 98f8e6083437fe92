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
    /// The connection, replaced when the server dropped it (a restart, a failover, an idle timeout).
    private var connection: PostgresConnection
    private let lock = NSRecursiveLock()
    /// Settings this session made (`SET NAME = VALUE`, by name), made again on a new connection.
    private var settings: [(name: String, value: String)] = []
    /// Whether a transaction is open on the connection (1) or not (0).
    private var transactionDepth = 0
    /// Seconds a write waits for another writer's lock, for the `locked` error it becomes.
    var lockTimeout: Double = 10
    private static let logger: Logger = {
        var logger = Logger(label: "akin.postgres")
        logger.logLevel = .critical
        return logger
    }()

    /// Seconds a connection attempt may take before it is refused.
    static let connectTimeout: Int64 = 10

    init(_ address: PostgresAddress) throws {
        self.address = address
        connection = try Self.connect(address)
    }

    private static func connect(_ address: PostgresAddress) throws -> PostgresConnection {
        var configuration = PostgresConnection.Configuration(host: address.host, port: address.port, username: address.user,
                                                             password: address.password, database: address.database, tls: .disable)
        configuration.options.connectTimeout = .seconds(connectTimeout)
        do {
            return try PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration,
                                                  id: 0, logger: logger).wait()
        } catch {
            throw GalleryStoreError.cannotConnect(path: address.description, reason: reason(error))
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

    /// Makes a session setting (`SET name = value`; nil: `RESET name`), kept for a new connection
    /// if this one is lost. `name` and `value` are Akin's own, never a user's text.
    func set(_ name: String, _ value: String?) throws {
        try lock.withLock {
            try query(PostgresQuery(unsafeSQL: value.map { "SET \(name) = \($0)" } ?? "RESET \(name)"))
            settings.removeAll { $0.name == name }
            if let value { settings.append((name, value)) }
        }
    }

    /// Runs one statement and returns its rows. A connection the server dropped is opened again,
    /// and the statement sent once more, when no transaction was open on it (one that was is lost
    /// with the connection: the error says so). Another writer's lock held past `lock_timeout` is `locked`.
    @discardableResult
    func query(_ query: PostgresQuery) throws -> PostgresQueryResult {
        try lock.withLock {
            // A connection the server ended since the last statement (a restart, an administrator,
            // an idle timeout): a new one first, when no transaction was open on the old.
            if connection.isClosed, transactionDepth == 0, !closed { try reconnect() }
            do { return try connection.query(query, logger: Self.logger).wait() }
            catch {
                if Self.connectionLost(error), transactionDepth == 0, !closed {
                    try reconnect()
                    do { return try connection.query(query, logger: Self.logger).wait() } catch { throw describe(error) }
                }
                throw describe(error)
            }
        }
    }

    /// Opens a new connection in place of a lost one and makes this session's settings again on it.
    private func reconnect() throws {
        try? connection.close().wait()
        connection = try Self.connect(address)
        for (name, value) in settings { _ = try connection.query(PostgresQuery(unsafeSQL: "SET \(name) = \(value)"), logger: Self.logger).wait() }
    }

    private func describe(_ error: any Error) -> GalleryStoreError {
        if Self.connectionLost(error) { return .cannotConnect(path: address.description, reason: Self.reason(error)) }
        if (error as? PSQLError)?.serverInfo?[.sqlState] == "55P03" { return .locked(path: address.description, seconds: lockTimeout) }
        return .database(path: address.description, reason: Self.reason(error))
    }

    /// Whether the connection itself failed (rather than the statement).
    private static func connectionLost(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError else { return false }
        return [PSQLError.Code.serverClosedConnection, .connectionError, .uncleanShutdown, .clientClosedConnection].contains(error.code)
    }

    /// Runs `body`'s statements with no other thread's in between (a setting, then the query it is for).
    func holding<T>(_ body: () throws -> T) throws -> T { try lock.withLock(body) }

    /// Runs `body` inside one transaction: committed when it returns, rolled back when it throws.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try lock.withLock {
            try query("BEGIN")
            transactionDepth += 1
            do {
                let result = try body()
                transactionDepth -= 1
                try query("COMMIT")
                return result
            } catch {
                transactionDepth -= 1
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
