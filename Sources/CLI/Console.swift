import Foundation
import Akin
import Synchronization

/// Where progress and notes go: standard error, so standard output stays clean for results (--json).
enum Console {
    static let isTerminal = isatty(STDERR_FILENO) != 0
    /// Set in the processes of a data-parallel run other than process 0: one process speaks for
    /// all (errors are still printed by whichever process meets them).
    static let quiet = Atomic<Bool>(false)

    static func note(_ text: String) {
        guard !quiet.load(ordering: .relaxed) else { return }
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    static func formatDuration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--:--" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}

/// A progress bar with rate and ETA on a terminal; plain lines every few seconds otherwise
/// (logs, CI), so long work always shows it is alive.
final class ProgressBar: @unchecked Sendable {
    private let label: String
    private var total: Int
    private let unit: String
    private let started = Date()
    private var lastDraw = Date.distantPast
    private let lock = NSLock()
    private let plainInterval: TimeInterval
    private let unitsPerStep: Double

    /// `total` counts steps; the rate is shown in `unit`s, of which one step holds `unitsPerStep`.
    init(_ label: String, total: Int, unit: String, unitsPerStep: Int = 1, plainInterval: TimeInterval = 10) {
        self.unitsPerStep = Double(unitsPerStep)
        self.label = label
        self.total = total
        self.unit = unit
        self.plainInterval = plainInterval
    }

    /// For work whose size is known only once it has begun.
    func update(_ done: Int, total newTotal: Int) {
        lock.lock()
        total = newTotal
        lock.unlock()
        update(done)
    }

    func update(_ done: Int, detail: String = "", rate explicitRate: Double? = nil) {
        lock.lock(); defer { lock.unlock() }
        let now = Date()
        let finished = done >= total
        let interval = Console.isTerminal ? 0.1 : plainInterval
        guard finished || now.timeIntervalSince(lastDraw) >= interval else { return }
        lastDraw = now
        let elapsed = now.timeIntervalSince(started)
        let rate = explicitRate ?? (elapsed > 0 ? Double(done) * unitsPerStep / elapsed : 0)
        let eta = rate > 0 ? Double(total - done) * unitsPerStep / rate : .infinity
        let numbers = "\(done)/\(total) \(detail.isEmpty ? "" : detail + " ")\(String(format: "%.0f", rate)) \(unit)/s"
        if Console.isTerminal {
            guard !Console.quiet.load(ordering: .relaxed) else { return }
            let width = 24
            let filled = total > 0 ? min(width, width * done / total) : width
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            let tail = finished ? "in \(Console.formatDuration(elapsed))" : "ETA \(Console.formatDuration(eta))"
            FileHandle.standardError.write(Data("\r\u{1B}[K\(label) \(bar) \(numbers) \(tail)\(finished ? "\n" : "")".utf8))
        } else {
            let tail = finished ? "done in \(Console.formatDuration(elapsed))" : "ETA \(Console.formatDuration(eta))"
            Console.note("\(label): \(numbers) \(tail)")
        }
    }
}

/// The library's progress and notes, drawn on standard error.
struct ConsoleReporter: WorkReporter {
    func begin(_ stage: String, total: Int, unit: String) -> @Sendable (Int) -> Void {
        let bar = ProgressBar(stage, total: total, unit: unit, plainInterval: stage == "t-SNE" ? 10 : 5)
        return { bar.update($0) }
    }

    func note(_ message: String) { Console.note(message) }
}
