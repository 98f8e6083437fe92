import Akin
import AkinServer
import ArgumentParser
import Dispatch
import Foundation

/// `akin serve`: the collections of a folder as an HTTP service (AkinServer does the work).
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the galleries of a folder over HTTP: search by vector or image, add and remove items, embed, snapshot.",
        discussion: "Each NAME.akin gallery in --dir is the collection NAME; *.safetensors models in --dir or --dir/models embed the images of the collections made for them. GET /openapi.yaml describes the API; GET / is a search page.")

    @Option(help: "The folder of collections (created collections are written here).") var dir: String
    @Option(help: "Serve the galleries of this PostgreSQL database as the collections (postgres://USER[:PASSWORD]@HOST:PORT/DATABASE) instead of the .akin files of --dir, which still holds the models and uploaded images.") var postgres: String?
    @Option(help: "The address to listen on. Anything but loopback needs --api-keys.") var host = "127.0.0.1"
    @Option(help: "The port (0 picks a free one; the one used is printed).") var port = 8080
    @Option(help: "A file of API keys, one a line: `read KEY` or `admin KEY` (at least 16 characters). Without it every request may do everything.")
    var apiKeys: String?
    @Option(help: "A model file to load besides those in --dir (repeatable); it is named by its file name without .safetensors.")
    var model: [String] = []
    @Option(help: "The largest request body in bytes (413 past it).") var maxUploadBytes = 32 << 20
    @Option(help: "Refuse uploaded images whose header declares more pixels, before decoding.") var maxPixels = 50_000_000
    @Option(help: "The most queries in one search, or items in one add.") var maxBatch = 1024
    @Option(help: "Seconds a request body may take to arrive (408 past it).") var requestTimeout = 30.0
    @Option(help: "Requests answered at once before new ones get 503 with Retry-After.") var maxInFlight = 256
    @Option(help: "The most images embedded in one batch.") var embeddingBatch = 32
    @Option(help: "Milliseconds the first image of a batch waits for others.") var embeddingWait = 5.0
    @Option(help: "Galleries searching each collection at once, each with its own copy of the index (default: one per core).")
    var readers: Int?
    @Option(help: "Threads for the network and the indexes (default: every core).") var threads: Int?

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0…65535, not \(port)") }
        for (name, value, range) in [("--max-upload-bytes", maxUploadBytes, 1...(1 << 31)), ("--max-pixels", maxPixels, 1...(1 << 31)),
                                     ("--max-batch", maxBatch, 1...100_000), ("--max-in-flight", maxInFlight, 1...100_000),
                                     ("--embedding-batch", embeddingBatch, 1...1024)] where !range.contains(value) {
            throw ValidationError("\(name) must be \(range.lowerBound)…\(range.upperBound), not \(value)")
        }
        if let readers, !(1...256).contains(readers) { throw ValidationError("--readers must be 1…256, not \(readers)") }
        guard requestTimeout > 0, requestTimeout <= 3600 else { throw ValidationError("--request-timeout must be in (0, 3600] seconds") }
        guard embeddingWait >= 0, embeddingWait <= 1000 else { throw ValidationError("--embedding-wait must be 0…1000 ms") }
    }

    func run() throws {
        try AkinCommand.configureThreads(threads)
        var options = ServerOptions(directory: dir)
        options.database = postgres
        options.host = host
        options.port = port
        options.apiKeys = try apiKeys.map(APIKeys.load(from:)) ?? .open
        options.modelFiles = model
        options.maxUploadBytes = maxUploadBytes
        options.maxPixels = maxPixels
        options.maxBatch = maxBatch
        options.requestTimeout = requestTimeout
        options.maxInFlight = maxInFlight
        options.embeddingBatch = embeddingBatch
        options.embeddingWait = .microseconds(Int64(embeddingWait * 1000))
        if let readers { options.readers = readers }
        let server = try SimilarityServer(options: options)
        // The server runs on Swift's concurrency pool; this thread waits for it to stop.
        let finished = DispatchSemaphore(value: 0)
        let outcome = Outcome()
        Task {
            do {
                try await server.run { host, port in
                    // Written straight to the file, unbuffered: a program that started the server waits for this line.
                    FileHandle.standardOutput.write(Data("akin serve: listening on http://\(host.contains(":") ? "[\(host)]" : host):\(port)\n".utf8))
                }
            } catch { outcome.error = error }
            finished.signal()
        }
        finished.wait()
        if let error = outcome.error { throw error }
        print("akin serve: stopped")
    }

    /// The server's error, handed from its task to the waiting thread (the semaphore orders the two).
    final class Outcome: @unchecked Sendable {
        var error: (any Error)?
    }
}
