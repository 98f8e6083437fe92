import Akin
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle

/// `akin serve`: the collections of a folder over HTTP. It opens every collection, starts
/// listening (``ServerOptions/port`` 0 picks a free port, given to `listening`), loads the indexes
/// (GET /readyz answers 200 after), and runs until SIGTERM or SIGINT: then it stops accepting,
/// finishes the requests in flight, closes every gallery and returns.
public struct SimilarityServer: Sendable {
    public let options: ServerOptions

    public init(options: ServerOptions) throws {
        if !ServerOptions.isLoopback(options.host) && !options.apiKeys.required {
            throw ServerError.exposedWithoutKeys(host: options.host)
        }
        self.options = options
    }

    /// Every route the server answers: its method, its path as OpenAPI spells it, and the key
    /// role it needs (nil: open to all, even when keys are required).
    public static var routes: [(method: String, path: String, role: KeyRole?)] {
        API.routes.map { ($0.method, $0.path, $0.role) }
    }

    public func run(listening: @escaping @Sendable (_ host: String, _ port: Int) -> Void = { _, _ in }) async throws {
        ServerMetrics.install()
        let shelf = try CollectionShelf(options: options)
        let router = Router(context: BasicRequestContext.self)
        // Outermost first: metrics see every answer's final status (503s included), then errors become
        // the API's error bodies.
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: ErrorMiddleware(directory: options.directory, routes: API.routes))
        router.add(middleware: InFlightLimit(maximum: options.maxInFlight))
        if !options.apiKeys.required { router.add(middleware: LoopbackGuard()) }
        API(shelf: shelf, options: options).install(on: router)
        var logger = Logger(label: "akin.serve")
        logger.logLevel = .warning
        let host = options.host
        // Headers past 16 KB a field or 32 KB in all are refused by the HTTP decoder, before any handler;
        // a connection idle for a minute is closed, so slow clients cannot hold connections forever.
        let http1 = HTTP1Channel.Configuration(idleTimeout: .seconds(60),
                                               httpDecoderConfiguration: .init(maxHeaderFieldSize: 16 << 10, maxHeaderListSize: 32 << 10, maxHeaderFieldCount: 100))
        let app = Application(router: router, server: .http1(configuration: http1),
                              configuration: .init(address: .hostname(host, port: options.port), serverName: "akin"),
                              onServerRunning: { channel in
                                  listening(host, channel.localAddress?.port ?? 0)
                                  // Not awaited: the server accepts only once this returns, and /healthz must answer during warm-up.
                                  Task { await shelf.warmUp() }
                              },
                              logger: logger)
        do { try await app.runService() } catch {
            await shelf.close()
            throw error
        }
        await shelf.close()
    }
}
