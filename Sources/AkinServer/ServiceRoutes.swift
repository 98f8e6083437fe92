import Akin
import Foundation
import Hummingbird
import Metrics
import Prometheus

/// The page, health, metrics, the API's description, and embedding without a collection.
extension API {
    func registerService(_ add: (HTTPRequest.Method, String, KeyRole?, @escaping Handler) -> Void) {
        add(.get, "/", nil) { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .contentSecurityPolicy: WebPage.securityPolicy],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: WebPage.html)))
        }
        add(.get, "/healthz", nil) { _, _ in try API.json(["status": "alive"]) }
        add(.get, "/readyz", nil) { _, _ in
            guard await shelf.ready else {
                throw APIError(.serviceUnavailable, "not_ready", "collections are still opening and loading their indexes", headers: [.retryAfter: "1"])
            }
            return try API.json(["status": "ready"])
        }
        add(.get, "/openapi.yaml", nil) { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"], body: ResponseBody(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
        }
        add(.get, "/metrics", .read) { _, _ in
            await ServerMetrics.refresh(shelf)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: ServerMetrics.registry.emitToBuffer())))
        }
        add(.get, "/v1/models", .read) { _, _ in
            try API.json(["models": shelf.models.values.sorted { $0.name < $1.name }.map {
                ModelBody(name: $0.name, fingerprint: $0.fingerprint, dimension: $0.dimension)
            }])
        }
        add(.post, "/v1/embed", .read) { request, _ in
            guard let modelName = try QueryParameters(request, known: ["model"]).string("model") else {
                throw APIError.invalid("name the model: POST /v1/embed?model=NAME")
            }
            let data: Data
            if RequestReader.isImage(request) {
                data = try await reader.image(request)
            } else {
                data = try reader.base64(try await reader.json(EmbedBody.self, from: request).imageBase64, field: "image_base64")
            }
            guard let model = shelf.models[modelName] else {
                throw APIError.notFound("no model \(modelName) is loaded; GET /v1/models lists them")
            }
            let vector = try await model.embedder.embed(imageData: data, maxPixels: options.maxPixels)
            return try API.json(EmbeddingBody(model: model.name, vector: vector))
        }
    }
}

struct ModelBody: Encodable, Sendable {
    var name: String
    var fingerprint: String
    var dimension: Int
}

struct EmbeddingBody: Encodable, Sendable {
    var model: String
    var vector: [Float]
}
