import Akin
import Foundation

/// What `akin serve` is told: where, who may do what, and the limits that keep one request from
/// taking the server.
public struct ServerOptions: Sendable {
    /// The folder of collections: each `NAME.akin` gallery is the collection NAME; models
    /// (`*.safetensors`) in it or in its `models` folder embed the images of the collections made for them.
    public var directory: String
    /// A PostgreSQL database (`postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`) whose galleries are
    /// the collections, instead of the `.akin` files of `directory` (which still holds the models
    /// and the uploaded images).
    public var database: String?
    public var host: String = "127.0.0.1"
    /// 0 picks a free port; the server prints the one it listens on.
    public var port: Int = 8080
    public var apiKeys: APIKeys = .open
    /// More model files to load, besides those in `directory`.
    public var modelFiles: [String] = []

    /// The largest request body, in bytes (413 past it).
    public var maxUploadBytes: Int = 32 << 20
    /// The pixel budget of one uploaded image (the decoder refuses larger ones before allocating).
    public var maxPixels: Int = 50_000_000
    /// Queries in one search request; items in one add.
    public var maxBatch: Int = 1024
    /// Seconds a request may take before it is answered 408.
    public var requestTimeout: Double = 30
    /// Requests being answered at once before new ones get 503 with Retry-After.
    public var maxInFlight: Int = 256
    /// Images embedded together at most, and how long the first waits for others to join it.
    public var embeddingBatch: Int = 32
    public var embeddingWait: Duration = .milliseconds(5)

    /// Galleries that search each collection at once, each with its own copy of the index (memory
    /// grows with it): one per core by default.
    public var readers: Int = ProcessInfo.processInfo.activeProcessorCount

    public init(directory: String) { self.directory = directory }

    /// Whether `host` only reaches this machine.
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}
