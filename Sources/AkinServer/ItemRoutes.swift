import Akin
import Foundation
import Hummingbird

/// Adding, reading, paging through and removing items, and the images stored with them.
extension API {
    func registerItems(_ add: (HTTPRequest.Method, String, KeyRole?, @escaping Handler) -> Void) {
        add(.put, "/v1/collections/{collection}/items", .admin) { request, context in
            let collection = try await collection(context)
            let ids = try await addItems(request, to: collection)
            return try API.json(["ids": ids], status: .created)
        }
        add(.get, "/v1/collections/{collection}/items", .read) { request, context in
            let collection = try await collection(context)
            let query = try QueryParameters(request, known: ["label", "limit", "cursor"])
            let limit = try query.int("limit") ?? 100, cursor = try query.int("cursor") ?? -1
            guard (1...Self.maximumPage).contains(limit) else { throw APIError.invalid("limit must be 1…\(Self.maximumPage), not \(limit)") }
            guard cursor >= -1 else { throw APIError.invalid("cursor is -1 (the start) or a next_cursor, not \(cursor)") }
            let labels = query.all("label")
            let items = try await collection.read { try $0.items(after: cursor, limit: limit, labels: labels.isEmpty ? nil : Set(labels)) }
            return try API.json(ItemPageBody(items: items.map { ItemBody($0) }, nextCursor: items.count == limit ? items.last?.id : nil))
        }
        add(.get, "/v1/collections/{collection}/items/{id}", .read) { request, context in
            let collection = try await collection(context)
            let id = try itemID(context)
            let withVector = try QueryParameters(request, known: ["with_vector"]).bool("with_vector") ?? false
            let (item, vector) = try await collection.read { gallery -> (StoredItem?, [Float]?) in
                (try gallery.item(id: id), withVector ? try gallery.store.vectors(ids: [id]).map { Array($0.buffer) } : nil)
            }
            guard let item else { throw APIError.notFound("\(collection.name) has no item \(id)") }
            return try API.json(ItemBody(item, vector: vector))
        }
        add(.delete, "/v1/collections/{collection}/items/{id}", .admin) { _, context in
            let collection = try await collection(context)
            let id = try itemID(context)
            guard let item = try await collection.run({ try $0.removeItems(ids: [id]).first }) else {
                throw APIError.notFound("\(collection.name) has no item \(id)")
            }
            removeStoredImage(of: item, in: collection)
            return try API.json(["removed": 1])
        }
        add(.post, "/v1/collections/{collection}/items/delete", .admin) { request, context in
            let collection = try await collection(context)
            let body = try await reader.json(DeleteItemsBody.self, from: request)
            let removed: [StoredItem]
            switch (body.ids, try body.filter.map { try $0.labels }) {
            case let (ids?, nil):
                guard ids.count <= options.maxBatch else { throw APIError.invalid("ids holds \(ids.count) ids; at most \(options.maxBatch) a request") }
                removed = try await collection.run { try $0.removeItems(ids: ids) }
            case let (nil, labels?):
                removed = try await collection.run { try $0.removeItems(ids: try $0.store.ids(whereLabel: labels.admits)) }
            default: throw APIError.invalid("give either ids or filter: {label: {in: [...]}}")
            }
            for item in removed { removeStoredImage(of: item, in: collection) }
            return try API.json(["removed": removed.count])
        }
        add(.get, "/v1/collections/{collection}/items/{id}/image", .read) { _, context in
            let collection = try await collection(context)
            let id = try itemID(context)
            guard let item = try await collection.read({ try $0.item(id: id) }) else {
                throw APIError.notFound("\(collection.name) has no item \(id)")
            }
            guard let file = StoredImages.file(of: item, in: collection),
                  let data = FileManager.default.contents(atPath: file) else {
                throw APIError.notFound("item \(id) was not added as an image through the API, so the server keeps no image of it")
            }
            return Response(status: .ok, headers: [.contentType: StoredImages.mediaType(of: file), .cacheControl: "private, max-age=3600"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
        }
    }

    static let maximumPage = 1000

    func itemID(_ context: BasicRequestContext) throws -> Int {
        let text = try context.parameters.require("id")
        guard let id = Int(text), id >= 0 else { throw APIError.invalid("an item id is a non-negative integer, not \(text)") }
        return id
    }

    func removeStoredImage(of item: StoredItem, in collection: ServedCollection) {
        if let file = StoredImages.file(of: item, in: collection) { try? FileManager.default.removeItem(atPath: file) }
    }

    /// Adds what the request carries: one raw image (label and payload in the query string), or
    /// JSON items with vectors or base64 images. Images are embedded (in batches with other
    /// requests' images) and kept on disk before the commit; the answer comes after the commit is durable.
    func addItems(_ request: Request, to collection: ServedCollection) async throws -> [Int] {
        var entries: [(label: String, payload: String?, vector: [Float]?, image: Data?)] = []
        if RequestReader.isImage(request) {
            let query = try QueryParameters(request, known: ["label", "payload"])
            let payload = query.string("payload")
            if let payload, JSONValue.parse(payload) == nil { throw APIError.invalid("payload must be JSON text") }
            entries = [(query.string("label") ?? "", payload, nil, try await reader.image(request))]
        } else {
            let body = try await reader.json(NewItemsBody.self, from: request)
            guard (1...options.maxBatch).contains(body.items.count) else {
                throw APIError.invalid("items must hold 1…\(options.maxBatch) items, not \(body.items.count)")
            }
            for (i, item) in body.items.enumerated() {
                switch (item.vector, item.imageBase64) {
                case let (vector?, nil):
                    entries.append((item.label ?? "", item.payload?.text, try Float32Values.convert(vector, field: "items[\(i)].vector"), nil))
                case let (nil, image?): entries.append((item.label ?? "", item.payload?.text, nil, try reader.base64(image, field: "items[\(i)].image_base64")))
                default: throw APIError.invalid("items[\(i)]: give either vector or image_base64")
                }
            }
        }
        let d = collection.info.dimension
        let hasImages = entries.contains { $0.image != nil }
        if hasImages, entries.contains(where: { $0.vector != nil }) {
            throw APIError.invalid("send images or vectors in one request, not both: their items are added under different rules")
        }
        for (i, entry) in entries.enumerated() where entry.vector.map({ $0.count != d }) ?? false {
            throw APIError.invalid("items[\(i)].vector has \(entry.vector!.count) components; \(collection.name) holds vectors of \(d)")
        }
        // Embed every image first (they join the embedding batches of other requests), so a bad image refuses the whole request.
        var vectors = entries.map(\.vector)
        if hasImages {
            let embedder = try embedder(of: collection)
            let maxPixels = options.maxPixels
            // At most `window` images of a request decoded at once: each may be up to --max-pixels.
            let window = 4
            try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
                var running = 0
                for (i, entry) in entries.enumerated() {
                    guard let image = entry.image else { continue }
                    if running == window, let (done, vector) = try await group.next() {
                        vectors[done] = vector
                        running -= 1
                    }
                    group.addTask {
                        do { return (i, try await embedder.embed(imageData: image, maxPixels: maxPixels)) }
                        catch let error as ImageError { throw APIError.invalid("items[\(i)]: \(error)") }
                    }
                    running += 1
                }
                for try await (i, vector) in group { vectors[i] = vector }
            }
        }
        let matrix = Tensor(shape: [entries.count, d])
        for (i, vector) in vectors.enumerated() { (matrix.pointer + i * d).update(from: vector!, count: d) }
        let fingerprint = collection.info.modelFingerprint
        let matrixBox = Unchecked(value: matrix)
        var files: [String?] = []
        do {
            // Keep the images on disk before the items that name them are committed.
            for entry in entries { files.append(try entry.image.map { try StoredImages.save($0, in: collection) }) }
            let items = zip(entries, files).map { entry, file in
                NewItem(path: file.map { StoredImages.itemPath(of: $0, in: collection) } ?? "", label: entry.label, metadata: entry.payload)
            }
            return try await collection.run { gallery in
                if hasImages, let fingerprint {
                    return try gallery.add(items, vectors: matrixBox.value, embeddedByModel: fingerprint)
                }
                return try gallery.add(items, vectors: matrixBox.value)
            }
        } catch {
            for file in files.compactMap({ $0 }) { try? FileManager.default.removeItem(atPath: file) }
            throw error
        }
    }
}

struct ItemPageBody: Encodable, Sendable {
    var items: [ItemBody]
    var nextCursor: Int?

    enum CodingKeys: String, CodingKey { case items, nextCursor = "next_cursor" }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(items, forKey: .items)
        try c.encode(nextCursor, forKey: .nextCursor)
    }
}
