import Akin
import Foundation
import Hummingbird

/// Listing, describing, creating, dropping and snapshotting collections.
extension API {
    func registerCollections(_ add: (HTTPRequest.Method, String, KeyRole?, @escaping Handler) -> Void) {
        add(.get, "/v1/collections", .read) { _, _ in
            var bodies: [CollectionBody] = []
            for collection in await shelf.all { bodies.append(try await describe(collection)) }
            return try API.json(["collections": bodies])
        }
        add(.get, "/v1/collections/{collection}", .read) { _, context in
            try API.json(try await describe(try await collection(context)))
        }
        add(.put, "/v1/collections/{collection}", .admin) { request, context in
            let body = try await reader.json(CreateCollectionBody.self, from: request)
            let similarity: GallerySimilarity
            switch body.similarity {
            case nil: similarity = .cosine
            case let text?:
                guard let value = GallerySimilarity(rawValue: text) else {
                    throw APIError.invalid("similarity must be one of \(GallerySimilarity.allCases.map(\.rawValue).joined(separator: ", ")), not \(text)")
                }
                similarity = value
            }
            let created = try await shelf.create(try context.parameters.require("collection"), model: body.model, dimension: body.dimension,
                                                 similarity: similarity)
            return try API.json(try await describe(created), status: .created)
        }
        add(.delete, "/v1/collections/{collection}", .admin) { _, context in
            try await shelf.drop(try context.parameters.require("collection"))
            return try API.json(["dropped": try context.parameters.require("collection")])
        }
        add(.post, "/v1/collections/{collection}/snapshot", .admin) { _, context in
            let collection = try await collection(context)
            let folder = (options.directory as NSString).appendingPathComponent("snapshots")
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let stamp = ISO8601DateFormatter.snapshotStamp.string(from: Date())
            let name = "\(collection.name)-\(stamp)-\(UUID().uuidString.prefix(8).lowercased()).akin"
            let destination = (folder as NSString).appendingPathComponent(name)
            try await collection.run { try $0.snapshot(to: destination) }
            let bytes = (try? FileManager.default.attributesOfItem(atPath: destination)[.size] as? Int) ?? 0
            return try API.json(SnapshotBody(snapshot: "snapshots/\(name)", bytes: bytes), status: .created)
        }
    }

    /// The index in memory when one is, else what the file says (which reads it).
    static func freshness(of gallery: Gallery) throws -> IndexFreshness {
        guard let (use, current) = try gallery.indexInMemory() else { return try gallery.indexFreshness() }
        guard let kind = use.kind else { return .none }
        return current ? .upToDate(kind) : .stale(kind)
    }

    /// A collection as GET /v1/collections/{c} shows it.
    func describe(_ collection: ServedCollection) async throws -> CollectionBody {
        let model = await shelf.model(of: collection)
        let info = collection.info
        let (threshold, freshness, labels) = try await collection.read { gallery in
            (try gallery.threshold, try API.freshness(of: gallery), try gallery.store.labelCounts())
        }
        // Every item has one label, so the counts by label add up to the items: no second count.
        let count = labels.reduce(0) { $0 + $1.count }
        let index: CollectionBody.IndexBody
        switch freshness {
        case .none: index = .init(kind: "exact", freshness: "none", reason: nil)
        case let .upToDate(kind): index = .init(kind: kind.rawValue, freshness: "up_to_date", reason: nil)
        case let .stale(kind): index = .init(kind: kind.rawValue, freshness: "stale", reason: nil)
        case let .unusable(kind, reason): index = .init(kind: kind.rawValue, freshness: "unusable", reason: reason)
        }
        return CollectionBody(name: collection.name.value, items: count, dimension: info.dimension, similarity: info.similarity.rawValue,
                              model: model?.name, modelFingerprint: info.modelFingerprint, modelLoaded: info.modelFingerprint == nil || model != nil,
                              threshold: threshold, index: index, labels: labels.map { .init(label: $0.label, count: $0.count) })
    }
}

struct SnapshotBody: Encodable, Sendable {
    var snapshot: String
    var bytes: Int
}

extension ISO8601DateFormatter {
    /// A time for file names: no colons.
    static var snapshotStamp: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withYear, .withMonth, .withDay, .withTime]
        return formatter
    }
}
