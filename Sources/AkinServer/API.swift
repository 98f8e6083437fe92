import Akin
import Foundation
import Hummingbird

/// The HTTP API over the front door: every route, with the key role it needs. The handlers only
/// translate HTTP to library calls; the rules of search, add and threshold live in the library.
struct API: Sendable {
    let shelf: CollectionShelf
    let options: ServerOptions
    let reader: RequestReader

    init(shelf: CollectionShelf, options: ServerOptions) {
        self.shelf = shelf
        self.options = options
        reader = RequestReader(options: options)
    }

    typealias Handler = @Sendable (Request, BasicRequestContext) async throws -> Response

    /// One route as /openapi.yaml lists it.
    struct Route: Hashable, Sendable {
        var method: String
        /// In OpenAPI's spelling: `/v1/collections/{collection}`.
        var path: String
        var role: KeyRole?
    }

    /// Every route the server answers, in the order they are registered (the spec test reads it).
    static var routes: [Route] {
        var all: [Route] = []
        let api = API(shelf: CollectionShelf.placeholder, options: ServerOptions(directory: "/"))
        api.register { method, path, role, _ in all.append(Route(method: method.rawValue, path: path, role: role)) }
        return all
    }

    /// Registers every route on `router`; `role` nil means open even when keys are required.
    func install(on router: Router<BasicRequestContext>) {
        register { method, path, role, handler in
            let keys = options.apiKeys
            let hummingbirdPath = RouterPath(path.replacingOccurrences(of: "{", with: ":").replacingOccurrences(of: "}", with: ""))
            router.on(hummingbirdPath, method: method) { request, context in
                if let role { try keys.require(role, request) }
                return try await handler(request, context)
            }
        }
    }

    func register(_ add: (HTTPRequest.Method, String, KeyRole?, @escaping Handler) -> Void) {
        registerService(add)
        registerCollections(add)
        registerSearch(add)
        registerItems(add)
    }

    // MARK: Helpers for the handlers

    /// Keys in the order the types declare them (answers read alike every time), slashes unescaped.
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    func collection(_ context: BasicRequestContext) async throws -> ServedCollection {
        try await shelf.collection(try context.parameters.require("collection"))
    }

    /// The collection's embedder, or why its images cannot be embedded.
    func embedder(of collection: ServedCollection) throws -> EmbeddingBatcher {
        if let embedder = collection.embedder { return embedder }
        if let fingerprint = collection.info.modelFingerprint {
            throw APIError.conflict("the model that embedded \(collection.name) (fingerprint \(fingerprint)) is not loaded; put its file in the server's folder or pass --model, and restart")
        }
        throw APIError.conflict("\(collection.name) holds vectors from elsewhere and has no model to embed images; send vectors")
    }
}
