import Akin
import Dispatch
import Foundation
import Synchronization

/// One collection being served. A `Gallery` is used from one thread at a time, so the collection
/// keeps several: one for changes, and one reader per core that searches and lists, each on its own
/// serial queue with its own copy of the index, so searches run on all cores while requests wait for
/// a queue without holding a thread of the server's pool. Readers see every committed change: a
/// gallery catches its index up before each search.
final class ServedCollection: @unchecked Sendable {
    let name: CollectionName
    let path: String
    /// The folder of images added through the API.
    let imagesFolder: String
    /// The model that embeds this collection's images; nil for a collection of vectors from elsewhere.
    let embedder: EmbeddingBatcher?
    let info: GalleryInfo
    private let writer: Lane
    private let readers: [Lane]
    private let nextReader = Atomic<Int>(0)
    /// Reads running on callers' threads now, and how many may: fewer than the threads of Swift's
    /// pool, so a slow read (an index catching up, a widened search) never holds them all.
    private let inlineReads = Atomic<Int>(0)
    private let maximumInlineReads = max(1, ProcessInfo.processInfo.activeProcessorCount - 1)

    /// A gallery, the lock that gives it to one thread at a time, and the queue that waits for it.
    final class Lane: @unchecked Sendable {
        let queue: DispatchQueue
        let lock = NSLock()
        /// Only touched with `lock` held; nil once closed.
        var gallery: Gallery?

        init(_ gallery: Gallery, label: String) {
            self.gallery = gallery
            queue = DispatchQueue(label: label)
        }
    }

    /// `address` opens the readers' galleries (a PostgreSQL one's password is in it, not in `gallery.path`).
    init(name: CollectionName, gallery: Gallery, address: String, directory: String, embedder: EmbeddingBatcher?, readers: Int) throws {
        self.name = name
        self.path = gallery.path
        self.imagesFolder = (directory as NSString).appendingPathComponent(name.imagesFolder)
        self.embedder = embedder
        self.info = gallery.info
        writer = Lane(gallery, label: "akin.collection.\(name).writer")
        self.readers = try (0..<max(1, readers)).map {
            Lane(try Gallery.open(address, readOnly: true, lockTimeout: 2), label: "akin.collection.\(name).reader\($0)")
        }
    }

    /// Runs `body` with the collection's writing gallery, on its queue: adds, removes, snapshots.
    func run<T: Sendable>(_ body: @escaping @Sendable (Gallery) throws -> T) async throws -> T {
        try await run(on: writer, body)
    }

    /// Runs `body` with one of the reading galleries: searches, listings, descriptions. A free reader
    /// runs it at once on the calling thread (reads are short; two thread hops would cost more than
    /// the search); when every reader is busy the request waits on one's queue.
    func read<T: Sendable>(_ body: @escaping @Sendable (Gallery) throws -> T) async throws -> T {
        let start = nextReader.add(1, ordering: .relaxed).oldValue
        if let answer = try readOnAFreeReader(from: start, body) { return answer }
        return try await run(on: readers[start % readers.count], body)
    }

    /// `body`'s answer from the first reader not in use, nil when all are.
    private func readOnAFreeReader<T>(from start: Int, _ body: (Gallery) throws -> T) throws -> T? {
        guard inlineReads.add(1, ordering: .relaxed).newValue <= maximumInlineReads else {
            inlineReads.subtract(1, ordering: .relaxed)
            return nil
        }
        defer { inlineReads.subtract(1, ordering: .relaxed) }
        for offset in 0..<readers.count {
            let lane = readers[(start + offset) % readers.count]
            guard lane.lock.try() else { continue }
            defer { lane.lock.unlock() }
            guard let gallery = lane.gallery else { throw APIError.notFound("the collection \(name) was dropped") }
            return .some(try body(gallery))
        }
        return nil
    }

    /// Runs `body` on every reader in turn (loading their indexes).
    func eachReader(_ body: @escaping @Sendable (Gallery) throws -> Void) async {
        for lane in readers { _ = try? await run(on: lane, body) }
    }

    private func run<T: Sendable>(on lane: Lane, _ body: @escaping @Sendable (Gallery) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { reply in
            lane.queue.async { [name] in
                lane.lock.lock()
                defer { lane.lock.unlock() }
                guard let gallery = lane.gallery else {
                    return reply.resume(throwing: APIError.notFound("the collection \(name) was dropped"))
                }
                reply.resume(with: Result { try body(gallery) })
            }
        }
    }

    /// Closes every gallery once the work queued before has run; later calls answer 404.
    func close() async {
        for lane in readers + [writer] {
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                lane.queue.async {
                    lane.lock.lock()
                    try? lane.gallery?.close()
                    lane.gallery = nil
                    lane.lock.unlock()
                    done.resume()
                }
            }
        }
    }
}

/// Lets a value that is only used on one queue cross into its closure.
struct Unchecked<Value>: @unchecked Sendable {
    var value: Value
}
