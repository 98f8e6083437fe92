import Foundation

/// Where long work tells how it is going: the CLI draws progress bars and prints notes on standard
/// error, a server logs, a Swift program may pass ``SilentReporter`` (the default everywhere).
public protocol WorkReporter: Sendable {
    /// A stage of `total` units (images, items, iterations) begins. The returned closure is called
    /// with the units done so far, possibly from several threads at once.
    func begin(_ stage: String, total: Int, unit: String) -> @Sendable (Int) -> Void

    /// Something the user should know that is not an error: a skipped file, a rebuilt index, a rate.
    func note(_ message: String)
}

/// Reports nothing.
public struct SilentReporter: WorkReporter {
    public init() {}
    public func begin(_ stage: String, total: Int, unit: String) -> @Sendable (Int) -> Void { { _ in } }
    public func note(_ message: String) {}
}

extension WorkReporter {
    /// Notes each skipped file, then how many of `total` were skipped.
    func noteSkipped(_ skipped: [SkippedFile], of total: Int) {
        for file in skipped { note("skipped \(file.path): \(file.reason)") }
        if !skipped.isEmpty { note("skipped \(skipped.count) of \(total) files that could not be decoded") }
    }
}
