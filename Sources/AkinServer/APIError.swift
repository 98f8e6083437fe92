import Foundation
import Akin
import Hummingbird

/// An answer other than success: `{"error": code, "detail": text}` with its HTTP status. `code` is
/// stable for programs to branch on; `detail` says, for a person, what was wrong and what to do.
public struct APIError: Error, HTTPResponseError, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var code: String
    public var detail: String
    /// Extra headers, such as Retry-After on 503.
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ code: String, _ detail: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers
    }

    public var description: String { "\(status.code) \(code): \(detail)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        let body = try JSONEncoder().encode(["error": code, "detail": detail])
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func badRequest(_ detail: String) -> APIError { APIError(.badRequest, "bad_request", detail) }
    static func invalid(_ detail: String) -> APIError { APIError(.unprocessableContent, "invalid", detail) }
    static func notFound(_ detail: String) -> APIError { APIError(.notFound, "not_found", detail) }
    static func conflict(_ detail: String) -> APIError { APIError(.conflict, "conflict", detail) }
    static func unauthorized(_ detail: String) -> APIError {
        APIError(.unauthorized, "unauthorized", detail, headers: [.wwwAuthenticate: "Bearer"])
    }
    static func forbidden(_ detail: String) -> APIError { APIError(.forbidden, "forbidden", detail) }
    static func tooLarge(_ detail: String) -> APIError { APIError(.contentTooLarge, "too_large", detail) }
    static func unsupportedMedia(_ detail: String) -> APIError { APIError(.unsupportedMediaType, "unsupported_media_type", detail) }
    static func overloaded(_ detail: String) -> APIError {
        APIError(.serviceUnavailable, "overloaded", detail, headers: [.retryAfter: "1"])
    }
    static func timeout(_ detail: String) -> APIError { APIError(.requestTimeout, "timeout", detail) }
}

/// Turns every error a handler throws into the API's error body: the library's refusals become
/// 4xx with their own words; anything else is a 500 that says no more than that it happened.
/// The server's folder is left out of every message: a client knows collections, not paths.
/// A path the server knows asked with a method it does not take is 405 with `Allow`, not 404.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let directory: String
    let routes: [API.Route]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do { return try await next(request, context) }
        catch {
            var answer = APIError.from(error)
            // The router's own 404 (not a handler's): is the path known under other methods?
            if (error as? HTTPError)?.status == .notFound {
                let allowed = Self.methods(for: request.uri.path, in: routes)
                if !allowed.isEmpty {
                    answer = APIError(.methodNotAllowed, "method_not_allowed", "\(request.uri.path) takes \(allowed.joined(separator: ", ")); see /openapi.yaml",
                                      headers: [.allow: allowed.joined(separator: ", ")])
                }
            }
            let folder = (directory as NSString).standardizingPath + "/"
            answer.detail = answer.detail.replacingOccurrences(of: folder, with: "")
            throw answer
        }
    }
}

extension APIError {
    /// The API's answer for an error thrown below it.
    static func from(_ error: any Error) -> APIError {
        switch error {
        case let error as APIError: return error
        case let error as any HTTPResponseError:
            let status = error.status
            switch status {
            case .notFound: return .notFound("no such endpoint; see /openapi.yaml")
            case .methodNotAllowed: return APIError(status, "method_not_allowed", "this endpoint does not take that method; see /openapi.yaml")
            case .contentTooLarge: return .tooLarge("the request body is larger than this server takes (--max-upload-bytes)")
            default: return APIError(status, "http_\(status.code)", status.reasonPhrase)
            }
        case let error as GalleryError:
            if case .noSuchItem = error { return .notFound(error.description) }
            // A knob the collection's index does not have: the same request suits another collection.
            if case .optionDoesNotApply = error { return .conflict(error.description) }
            return .invalid(error.description)
        case let error as GalleryStoreError:
            switch error {
            case .locked: return APIError(.serviceUnavailable, "locked", error.description, headers: [.retryAfter: "1"])
            case .empty: return APIError(.conflict, "empty", "the collection holds no items yet; add some first")
            case .exists: return .conflict("a collection of that name exists, or is still being dropped")
            // The server's own files failing is the server's fault, not the request's.
            case .missing, .cannotOpen, .notAGallery, .database: return APIError(.internalServerError, "storage", error.description)
            case .cannotConnect: return APIError(.serviceUnavailable, "storage", error.description, headers: [.retryAfter: "5"])
            default: return .invalid(error.description)
            }
        case let error as ImageError: return .invalid(error.description)
        case let error as IndexSettingsError: return .invalid(error.description)
        case let error as EmbeddingError: return .invalid(error.description)
        case let error as DecodingError: return .badRequest("the JSON body does not fit: \(JSONProblem.describe(error))")
        default: return APIError(.internalServerError, "internal", "the server failed to answer; its log has the reason")
        }
    }
}

/// A JSON decoding error in a sentence that names the field.
enum JSONProblem {
    static func describe(_ error: DecodingError) -> String {
        func at(_ path: [any CodingKey]) -> String {
            path.isEmpty ? "the body" : path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: CharacterSet(charactersIn: "."))
        }
        switch error {
        case let .typeMismatch(type, c): return "\(at(c.codingPath)) should be \(type)"
        case let .valueNotFound(type, c): return "\(at(c.codingPath)) is missing (\(type) expected)"
        case let .keyNotFound(key, c): return "\(at(c.codingPath + [key])) is required"
        case let .dataCorrupted(c): return "\(at(c.codingPath)): \(c.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}

extension ErrorMiddleware {
    /// The methods of the routes whose template (`/v1/collections/{collection}`) matches `path`.
    /// A literal segment outranks a parameter, as in routing: `/items/delete` is not item "delete".
    static func methods(for path: String, in routes: [API.Route]) -> [String] {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        let matching = routes.compactMap { route -> (method: String, literals: Int)? in
            let template = route.path.split(separator: "/", omittingEmptySubsequences: false)
            guard template.count == parts.count, zip(template, parts).allSatisfy({ $0.hasPrefix("{") || $0 == $1 }) else { return nil }
            return (route.method, template.filter { !$0.hasPrefix("{") }.count)
        }
        let best = matching.map(\.literals).max()
        return matching.filter { $0.literals == best }.map(\.method)
    }
}
