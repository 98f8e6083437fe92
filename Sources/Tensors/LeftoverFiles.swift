import Foundation

/// Temporary files that a killed process left beside the file it was writing: `.NAME.tmp-PID…`
/// (and SQLite's `-wal`, `-shm`, `-journal` of them). `AtomicFile` and whole-gallery writes name
/// their temporaries so; whoever next writes or opens NAME removes those whose process is gone.
public enum LeftoverFiles {
    /// The prefix of NAME's temporary files, in NAME's folder.
    public static func prefix(of path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return "." + url.lastPathComponent + ".tmp-"
    }

    /// Removes the temporaries of `path` whose writing process no longer runs; a live one's (this
    /// process's included) are left alone. Returns the names removed. Never throws: a leftover that
    /// cannot be removed is left for next time.
    @discardableResult
    public static func removeDead(besides path: String) -> [String] {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path, start = prefix(of: path)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        var removed: [String] = []
        for name in names where name.hasPrefix(start) {
            let digits = name.dropFirst(start.count).prefix { $0.isNumber }
            guard let pid = Int32(digits), pid > 0, !isRunning(pid) else { continue }
            if (try? FileManager.default.removeItem(atPath: folder + "/" + name)) != nil { removed.append(name) }
        }
        return removed
    }

    /// Whether a process with this id exists (one of another user's counts as running).
    static func isRunning(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }
}
