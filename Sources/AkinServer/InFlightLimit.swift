import Foundation
import Hummingbird
import Synchronization

/// Bounds the requests being answered at once: past the bound a request is answered 503 with
/// Retry-After at once, rather than joining a queue that grows without end.
struct InFlightLimit<Context: RequestContext>: RouterMiddleware {
    let maximum: Int
    let counter = Counter()

    final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let now = counter.value.add(1, ordering: .relaxed).newValue
        defer { counter.value.subtract(1, ordering: .relaxed) }
        guard now <= maximum else {
            throw APIError.overloaded("the server is answering \(maximum) requests already; retry after a second")
        }
        return try await next(request, context)
    }
}
