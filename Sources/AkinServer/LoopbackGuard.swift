import Foundation
import Hummingbird

/// Without API keys the server trusts whoever reaches it, which is only this machine: but a web page
/// in this machine's browser reaches it too. So a keyless server answers only requests whose `Host`
/// names a loopback address (DNS rebinding gives another name) and whose `Origin`, when a browser
/// sends one, is the server itself (another site's page sends its own).
struct LoopbackGuard<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let host = request.head.authority ?? ""
        guard Self.isLoopback(authority: host) else {
            throw APIError.forbidden("this server has no API keys, so it answers only requests addressed to a loopback name (Host: \(host)); use 127.0.0.1 or localhost, or give the server --api-keys")
        }
        if let origin = request.headers[.origin], origin != "null" {
            let authority = origin.hasPrefix("http://") ? String(origin.dropFirst(7)) : ""
            guard authority == host || (Self.isLoopback(authority: authority) && Self.port(authority) == Self.port(host)) else {
                throw APIError.forbidden("a page from \(origin) may not use this keyless server; serve it with --api-keys to allow other origins")
            }
        }
        return try await next(request, context)
    }

    /// `127.0.0.1:8080`, `localhost`, `[::1]:8080`.
    static func isLoopback(authority: String) -> Bool {
        let name: Substring
        if authority.hasPrefix("[") { name = authority.dropFirst().prefix { $0 != "]" } }
        else { name = authority.prefix { $0 != ":" } }
        return ServerOptions.isLoopback(String(name).lowercased())
    }

    static func port(_ authority: String) -> Substring { authority.hasSuffix("]") ? "" : authority.split(separator: ":").dropFirst().last ?? "" }
}
