import Akin
import Dispatch
import Foundation

/// One collection being served: its gallery, used from one serial queue (a `Gallery` is used from
/// one thread at a time), so requests wait for it without holding a thread of the server's pool.
final class ServedCollection: @unchecked Sendable {
    let name: CollectionName
    let path: String
    /// The folder of images added through the API.
    let imagesFolder: String
    /// The model that embeds this collection's images; nil for a collection of vectors from elsewhere.
    let embedder: EmbeddingBatcher?
    let info: GalleryInfo
    private let queue: DispatchQueue
    /// Only touched on `queue`.
    private var gallery: Gallery?

    init(name: CollectionName, gallery: Gallery, directory: String, embedder: EmbeddingBatcher?) {
        self.name = name
        self.path = gallery.path
        self.imagesFolder = (directory as NSString).appendingPathComponent(name.imagesFolder)
        self.embedder = embedder
        self.info = gallery.info
        self.gallery = gallery
        queue = DispatchQueue(label: "akin.collection.\(name)")
    }

    /// Runs `body` with the gallery on the collection's queue.
    func run<T: Sendable>(_ body: @escaping @Sendable (Gallery) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { reply in
            queue.async { [self] in
                guard let gallery else {
                    return reply.resume(throwing: APIError.notFound("the collection \(name) was dropped"))
                }
                reply.resume(with: Result { try body(gallery) })
            }
        }
    }

    /// Closes the gallery once the work queued before has run; later calls answer 404.
    func close() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            queue.async { [self] in
                try? gallery?.close()
                gallery = nil
                done.resume()
            }
        }
    }
}

/// Lets a value that is only used on one queue cross into its closure.
struct Unchecked<Value>: @unchecked Sendable {
    var value: Value
}
