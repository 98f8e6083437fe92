import Foundation

/// Runs the built `akin` under Open MPI's `mpirun` on this machine (loopback, shared memory), as
/// root in CI: Open MPI refuses root unless both variables say it is meant.
enum MPI {
    static let mpirun = "/usr/bin/mpirun"

    static var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        // Under AddressSanitizer (scripts/test.sh) Open MPI's allocations left at exit are reported
        // from its components, which MPI_Finalize has already unloaded: "<unknown module>" frames that
        // no suppression can name. Leak checking is off for the ranks only; memory errors still stop them.
        environment["ASAN_OPTIONS"] = [environment["ASAN_OPTIONS"], "detect_leaks=0"].compactMap { $0 }.joined(separator: ":")
        return environment
    }

    /// `mpirun -np <processes> akin <arguments>`, started; its streams go to `<log>.out` and `<log>.err`.
    /// --oversubscribe: a CI machine may have fewer cores than processes.
    static func start(processes: Int, _ arguments: [String], log: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: mpirun)
        process.arguments = ["-np", String(processes), "--oversubscribe", CLI.binary.path] + arguments
        process.environment = environment
        _ = FileManager.default.createFile(atPath: log + ".out", contents: nil)
        _ = FileManager.default.createFile(atPath: log + ".err", contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: log + ".out"))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log + ".err"))
        try process.run()
        return process
    }

    /// Runs to the end, or kills the job after `timeout` seconds (then the status is nil: it hung).
    static func run(processes: Int, _ arguments: [String], log: String, timeout: Double = 60) throws -> CommandResult? {
        let process = try start(processes: processes, arguments, log: log)
        guard wait(for: process, timeout: timeout) else { return nil }
        return CommandResult(status: process.terminationStatus, output: readText(log + ".out") ?? "", errors: readText(log + ".err") ?? "")
    }

    /// Whether `process` ended within `timeout` seconds; if not it is killed, with its children.
    static func wait(for process: Process, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        guard process.isRunning else { return true }
        for child in children(of: process.processIdentifier) { kill(child, SIGKILL) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return false
    }

    /// The processes `parent` started (the ranks, for mpirun on one machine), from /proc.
    static func children(of parent: pid_t) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(pid_t.init).filter { pid in
            // /proc/<pid>/stat: "pid (name) state ppid …"; the name may hold spaces, so read after its ")".
            guard let stat = readText("/proc/\(pid)/stat"),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && pid_t(fields[1]) == parent
        }
    }

    /// The process of rank `rank` among `mpirun`'s children (Open MPI puts the rank in its environment).
    static func rank(_ rank: Int, of mpirun: Process) -> pid_t? {
        children(of: mpirun.processIdentifier).first { pid in
            guard let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
            return environ.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == "OMPI_COMM_WORLD_RANK=\(rank)" }
        }
    }
}

/// A text file's contents, or nil. Through FileHandle: `String(contentsOfFile:)` leaks its buffer
/// (4 KB) on a file that reports size 0, as /proc files and empty logs do (LeakSanitizer, CI's ASan step).
func readText(_ path: String) -> String? {
    guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
    defer { try? handle.close() }
    return String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
}
