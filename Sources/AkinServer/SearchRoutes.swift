import Akin
import Foundation
import Hummingbird

/// Search by vector, by stored item, by several at once, and by image.
extension API {
    func registerSearch(_ add: (HTTPRequest.Method, String, KeyRole?, @escaping Handler) -> Void) {
        add(.post, "/v1/collections/{collection}/search", .read) { request, context in
            let collection = try await collection(context)
            let body = try await reader.json(SearchBody.self, from: request)
            let (queries, many) = try body.asked(maxBatch: options.maxBatch)
            let searchOptions = try body.options.options
            let results = try await collection.read { try $0.search(queries, options: searchOptions) }
            return many ? try API.json(ManyResultsBody(results: results.map(ResultBody.init))) : try API.json(ResultBody(results[0]))
        }
        add(.post, "/v1/collections/{collection}/search/image", .read) { request, context in
            let collection = try await collection(context)
            let searchOptions = try QueryParameters(request, known: QueryParameters.searchNames).searchKnobs().options
            let embedder = try embedder(of: collection)
            let vector = try await embedder.embed(imageData: try await reader.image(request), maxPixels: options.maxPixels)
            let results = try await collection.read { try $0.search([.vector(vector)], options: searchOptions) }
            return try API.json(ResultBody(results[0]))
        }
    }
}
