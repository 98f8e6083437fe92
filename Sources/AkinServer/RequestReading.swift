import Akin
import Foundation
import Hummingbird

/// Reading what a request carries, within the server's limits.
struct RequestReader: Sendable {
    let options: ServerOptions

    /// The whole body: 413 past `maxUploadBytes`, 408 when it has not all arrived within
    /// `requestTimeout` (a client that sends slowly holds a connection, not the server).
    func body(_ request: Request) async throws -> Data {
        let limit = options.maxUploadBytes, seconds = options.requestTimeout
        let buffer = try await withThrowingTaskGroup(of: ByteBuffer.self) { group in
            group.addTask {
                var request = request
                return try await request.collectBody(upTo: limit)
            }
            group.addTask {
                try await Task.sleep(for: .seconds(seconds))
                throw APIError.timeout("the request body did not arrive within \(seconds) s (--request-timeout)")
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
        return Data(buffer.readableBytesView)
    }

    /// A JSON body decoded as `T`: 415 for another content type, 400 for JSON that does not fit.
    func json<T: Decodable>(_ type: T.Type, from request: Request) async throws -> T {
        // Required, not assumed: a web page can send a body without a content type and without asking
        // first (no CORS preflight), and must not reach a keyless server that way.
        let contentType = request.headers[.contentType] ?? ""
        guard RequestReader.mediaType(contentType, is: "application/json") else {
            throw APIError.unsupportedMedia("send this as application/json, not \(contentType.isEmpty ? "no content type" : contentType)")
        }
        let data = try await body(request)
        guard !data.isEmpty else { throw APIError.badRequest("the request has no body; send a JSON object") }
        do { return try JSONDecoder().decode(T.self, from: data) }
        catch let error as DecodingError { throw APIError.badRequest("the JSON body does not fit: \(JSONProblem.describe(error))") }
    }

    /// Whether `contentType` starts with `prefix`, ignoring ASCII case (no lowercased copy per request).
    static func mediaType(_ contentType: String, is prefix: String) -> Bool {
        var given = contentType.utf8.makeIterator()
        for expected in prefix.utf8 {
            guard let byte = given.next(), byte | 0x20 == expected | 0x20 else { return false }
        }
        return true
    }

    /// Whether the body is an image (JPEG or PNG) rather than JSON.
    static func isImage(_ request: Request) -> Bool {
        let type = request.headers[.contentType] ?? ""
        return mediaType(type, is: "image/") || mediaType(type, is: "application/octet-stream")
    }

    /// An image body: `image/jpeg`, `image/png` or `application/octet-stream`; 415 for anything else.
    func image(_ request: Request) async throws -> Data {
        let type = request.headers[.contentType] ?? ""
        guard Self.mediaType(type, is: "image/jpeg") || Self.mediaType(type, is: "image/png") || Self.mediaType(type, is: "application/octet-stream") else {
            throw APIError.unsupportedMedia("send the image as the raw body with Content-Type image/jpeg or image/png, not \(type.isEmpty ? "none" : type)")
        }
        let data = try await body(request)
        guard !data.isEmpty else { throw APIError.invalid("the request has no body; send the image's bytes") }
        return data
    }

    /// Base64 image bytes from a JSON field, named in the error.
    func base64(_ text: String, field: String) throws -> Data {
        guard let data = Data(base64Encoded: text, options: .ignoreUnknownCharacters), !data.isEmpty else {
            throw APIError.invalid("\(field) is not base64 of an image")
        }
        return data
    }
}

/// The query string of a request, each name known to the endpoint: an unknown one is refused.
struct QueryParameters {
    let values: [String: [String]]

    init(_ request: Request, known: Set<String>) throws {
        var values: [String: [String]] = [:]
        for (name, value) in request.uri.queryParameters {
            let name = String(name)
            guard known.contains(name) else {
                throw APIError.invalid("the query parameter \(name) does not apply here (known: \(known.sorted().joined(separator: ", ")))")
            }
            values[name, default: []].append(String(value))
        }
        self.values = values
    }

    func string(_ name: String) -> String? { values[name]?.last }
    func all(_ name: String) -> [String] { values[name]?.flatMap { $0.split(separator: ",").map(String.init) } ?? [] }

    func int(_ name: String) throws -> Int? {
        guard let text = string(name) else { return nil }
        guard let value = Int(text) else { throw APIError.invalid("\(name) must be an integer, not \(text)") }
        return value
    }

    func double(_ name: String) throws -> Double? {
        guard let text = string(name) else { return nil }
        guard let value = Double(text), value.isFinite else { throw APIError.invalid("\(name) must be a finite number, not \(text)") }
        return value
    }

    func bool(_ name: String) throws -> Bool? {
        guard let text = string(name) else { return nil }
        switch text {
        case "true", "1", "": return true
        case "false", "0": return false
        default: throw APIError.invalid("\(name) must be true or false, not \(text)")
        }
    }

    /// The search options of an image search, from the query string.
    static let searchNames: Set<String> = ["k", "offset", "score_threshold", "label", "not_label", "group_by_label", "exact", "ef", "probe", "threshold"]

    func searchKnobs() throws -> SearchKnobs {
        let only = all("label"), excluding = all("not_label")
        let labels = only.isEmpty && excluding.isEmpty ? nil : LabelFilter(only: only.isEmpty ? nil : Set(only), excluding: Set(excluding))
        return SearchKnobs(k: try int("k"), offset: try int("offset"), scoreThreshold: try double("score_threshold"), labels: labels,
                           groupByLabel: try bool("group_by_label"), exact: try bool("exact"), ef: try int("ef"), probe: try int("probe"),
                           threshold: try double("threshold"))
    }
}
